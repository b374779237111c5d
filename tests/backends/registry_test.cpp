// Provider registry and the HTTP helpers: defaults, usage errors, URL and header handling.
#include <algorithm>
#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/scoped_env.h"

#include "ipw/backends/backend.h"
#include "ipw/backends/http.h"
#include "ipw/core/error.h"

namespace ipw::backends {
namespace {

using ::testing::HasSubstr;

using ipw::testing::ScopedEnv;

Error make_error(const ModelRef& ref, const BackendOptions& o = {}) {
  try {
    make_backend(ref, o);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "make_backend did not throw";
  return Error(Errc::internal, "");
}

TEST(Registry, UnknownProviderListsTheKnownOnesAndSuggestsOpenAICompatible) {
  Error e = make_error({"mistral", "mistral-large"});
  EXPECT_EQ(e.code(), Errc::usage);
  for (const auto& p : providers()) EXPECT_THAT(e.what(), HasSubstr(p.name));
  EXPECT_THAT(e.what(), HasSubstr("openai-compatible/mistral-large --base-url"));
}

TEST(Registry, MissingCloudKeyNamesTheVariable) {
  for (const char* var : {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}) {
    ScopedEnv env(var, nullptr);
    auto p = std::find_if(providers().begin(), providers().end(), [&](const auto& info) { return info.api_key_env == var; });
    ASSERT_NE(p, providers().end()) << var;
    EXPECT_TRUE(p->api_key_required) << var;
    Error e = make_error({p->name, "m"});
    EXPECT_EQ(e.code(), Errc::usage);
    EXPECT_THAT(e.what(), HasSubstr(var));
  }
}

TEST(Registry, MissingGeminiKeyNamesBothVariablesItReads) {
  ScopedEnv env("GEMINI_API_KEY", nullptr);
  ScopedEnv env2("GOOGLE_API_KEY", nullptr);
  Error e = make_error({"gemini", "gemini-2.5-flash"});
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_THAT(e.what(), HasSubstr("GEMINI_API_KEY (or GOOGLE_API_KEY)"));
}

TEST(Registry, GeminiAcceptsGoogleApiKey) {
  ScopedEnv env("GEMINI_API_KEY", nullptr);
  ScopedEnv env2("GOOGLE_API_KEY", "AIza-test");
  EXPECT_NO_THROW(make_backend({"gemini", "gemini-2.5-flash"}, {}));
}

TEST(Registry, CloudProvidersUseTheirApiEndpoints) {
  ScopedEnv env("ANTHROPIC_API_KEY", "sk-ant-test");
  ScopedEnv env2("GEMINI_API_KEY", "AIza-test");
  EXPECT_EQ(make_backend({"anthropic", "claude-sonnet-4-5"}, {})->endpoint(), "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(make_backend({"gemini", "gemini-2.5-flash"}, {})->endpoint(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
}


TEST(Registry, ExplicitKeyVariableThatIsUnsetIsAUsageError) {
  ScopedEnv env("IPW_TEST_UNSET_KEY", nullptr);
  BackendOptions o;
  o.api_key_env = "IPW_TEST_UNSET_KEY";
  Error e = make_error({"vllm", "m"}, o);
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_THAT(e.what(), HasSubstr("IPW_TEST_UNSET_KEY"));
}

TEST(Registry, OpenAICompatibleNeedsBaseUrl) {
  Error e = make_error({"openai-compatible", "m"});
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_THAT(e.what(), HasSubstr("--base-url"));
}

TEST(Registry, LocalProvidersUseTheirDefaultPorts) {
  ScopedEnv env("OLLAMA_HOST", nullptr);
  EXPECT_EQ(make_backend({"vllm", "m"}, {})->endpoint(), "http://127.0.0.1:8000/v1/chat/completions");
  EXPECT_EQ(make_backend({"sglang", "m"}, {})->endpoint(), "http://127.0.0.1:30000/v1/chat/completions");
  EXPECT_EQ(make_backend({"llama-server", "m"}, {})->endpoint(), "http://127.0.0.1:8080/v1/chat/completions");
  EXPECT_EQ(make_backend({"lmstudio", "m"}, {})->endpoint(), "http://127.0.0.1:1234/v1/chat/completions");
  EXPECT_EQ(make_backend({"ollama", "m"}, {})->endpoint(), "http://127.0.0.1:11434/api/chat");
  EXPECT_EQ(make_backend({"vllm", "Qwen/Qwen3-8B"}, {})->model(), "Qwen/Qwen3-8B");
}

TEST(Registry, TrailingSlashOfBaseUrlIsStripped) {
  BackendOptions o;
  o.base_url = "http://10.0.0.5:9000/v1//";
  EXPECT_EQ(make_backend({"vllm", "m"}, o)->endpoint(), "http://10.0.0.5:9000/v1/chat/completions");
}

TEST(Registry, BaseUrlWithoutSchemeIsAUsageError) {
  BackendOptions o;
  o.base_url = "localhost:8000/v1";
  EXPECT_EQ(make_error({"vllm", "m"}, o).code(), Errc::usage);
}

TEST(Registry, OllamaHostIsHonoured) {
  ScopedEnv env("OLLAMA_HOST", "0.0.0.0:11500");
  EXPECT_EQ(make_backend({"ollama", "m"}, {})->endpoint(), "http://127.0.0.1:11500/api/chat");
  ScopedEnv env2("OLLAMA_HOST", "https://ollama.example.org");
  EXPECT_EQ(make_backend({"ollama", "m"}, {})->endpoint(), "https://ollama.example.org:11434/api/chat");
}

TEST(Registry, EndpointNeverShowsCredentials) {
  BackendOptions o;
  o.base_url = "https://user:s3cret@gw.example.org/v1";
  EXPECT_EQ(make_backend({"vllm", "m"}, o)->endpoint(), "https://gw.example.org/v1/chat/completions");
}

TEST(HttpHelpers, StripCredentialsRemovesUserInfoOnly) {
  EXPECT_EQ(strip_credentials("http://a:b@host:1/x@y"), "http://host:1/x@y");
  EXPECT_EQ(strip_credentials("http://host/v1"), "http://host/v1");
}

TEST(HttpHelpers, RetryAfterAcceptsSecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after("7", 0), 7.0);
  // 1994-11-06 08:49:37 UTC is 784111777 on the Unix clock (RFC 9110's example date).
  auto d = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0 - 12);
  ASSERT_TRUE(d.has_value());
  EXPECT_NEAR(*d, 12.0, 1e-9);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0 + 50), 0.0);
  EXPECT_FALSE(parse_retry_after("soon", 0).has_value());
  EXPECT_FALSE(parse_retry_after("", 0).has_value());
}

TEST(HttpHelpers, ErrorBodyMessageReadsCommonShapes) {
  EXPECT_EQ(error_body_message(R"({"error":{"message":"bad model","type":"x"}})"), "bad model");
  EXPECT_EQ(error_body_message(R"({"error":"model 'x' not found"})"), "model 'x' not found");
  EXPECT_EQ(error_body_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(error_body_message("Internal  Server\n Error"), "Internal Server Error");
  EXPECT_EQ(error_body_message(std::string(500, 'x'), 300), std::string(300, 'x') + "...");
}

TEST(HttpHelpers, BackoffDoublesWithJitterAndIsCapped) {
  BackendOptions o;
  o.backoff_initial_s = 0.5;
  o.backoff_max_s = 3;
  EXPECT_DOUBLE_EQ(backoff_delay_s(o, 0, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(backoff_delay_s(o, 2, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(backoff_delay_s(o, 2, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(backoff_delay_s(o, 10, 1.0), 3.0);
}

}  // namespace
}  // namespace ipw::backends
