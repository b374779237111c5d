// The Anthropic and Gemini backends against the in-process fixture server speaking their wire
// formats: timing, reasoning, usage, the retry policy, faults and where the API key goes. The
// behaviours both share run once per provider; the request shapes are checked per provider.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/scoped_env.h"

#include "fixture_server.h"
#include "ipw/backends/backend.h"
#include "ipw/core/clock.h"
#include "ipw/core/error.h"

namespace ipw::backends {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using ipw::testing::ScopedEnv;

constexpr const char* kKey = "cloud-test-key-5d4c3b2a1f0e";

struct Cloud {
  const char* provider;
  const char* key_env;
  const char* key_field;    // the request-log field that holds the header the key goes in
  const char* base_suffix;  // after the fixture's root URL
  const char* stop;         // the API's finish reasons: answer complete, cut at max tokens
  const char* cut;
};

const Cloud kAnthropic{"anthropic", "ANTHROPIC_API_KEY", "x-api-key", "", "end_turn", "max_tokens"};
const Cloud kGemini{"gemini", "GEMINI_API_KEY", "x-goog-api-key", "/v1beta", "STOP", "MAX_TOKENS"};

class CloudBackend : public ::testing::TestWithParam<Cloud> {
 protected:
  void script(const char* text) { server.set_script(Json::parse(text)); }

  BackendOptions options() {
    BackendOptions o;
    o.base_url = server.root_url() + GetParam().base_suffix;
    o.backoff_initial_s = 0.01;
    o.backoff_max_s = 0.05;
    o.idle_timeout_s = 60;
    o.total_timeout_s = 120;
    return o;
  }

  Completion ask(const std::string& question, int max_tokens = 512) {
    auto b = make_backend({GetParam().provider, "fixture-model"}, options());
    ChatRequest req;
    req.messages = {{"system", "Answer briefly."}, {"user", question}};
    req.params.max_tokens = max_tokens;
    return b->complete(req);
  }

  // The error complete() throws (fails the test when it returns).
  Error ask_error(const std::string& question) {
    try {
      ask(question);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "complete() did not throw";
    return Error(Errc::internal, "");
  }

  ScopedEnv key_{GetParam().key_env, kKey};
  fixture::FixtureServer server;
};

TEST_P(CloudBackend, TtftIsAtTheFirstTokenAndReasoningIsKeptApart) {
  script(R"({"default": {"reasoning": "Six times seven.", "answer": "It is 42.", "ttft_ms": 200, "itl_ms": 40}})");
  Completion c = ask("6*7?");
  EXPECT_EQ(c.reasoning, "Six times seven.");
  EXPECT_EQ(c.text, "It is 42.");
  EXPECT_GE(c.ttft_s(), 0.2);  // message and block starts came at once; the first token after 200 ms
  EXPECT_EQ(c.first_reasoning_s - c.start_s, c.ttft_s());
  EXPECT_GE(c.first_token_s - c.first_reasoning_s, 0.06);  // three token gaps of 40 ms, less slack
  EXPECT_EQ(c.token_times_s.size(), 6u);
  EXPECT_GE(c.latency_s(), c.first_token_s - c.start_s);
  EXPECT_EQ(c.attempts, 1);
}

TEST_P(CloudBackend, UsageReportedByTheApiIsUsed) {
  script(R"({"default": {"reasoning": "hmm", "answer": "one two three four"}})");
  Completion c = ask("count");
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 5);
  EXPECT_EQ(c.prompt_tokens, 5);  // fixture: (15 system + 5 user characters + 3) / 4
  EXPECT_EQ(c.finish_reason, GetParam().stop);
}

TEST_P(CloudBackend, TokensAreEstimatedWhenUsageIsAbsent) {
  script(R"({"default": {"answer": "one two three", "usage": false}})");
  Completion c = ask("count");
  EXPECT_TRUE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 3);
  EXPECT_EQ(c.prompt_tokens, 5);
}

TEST_P(CloudBackend, MaxTokensCutsTheAnswerWithTheApisFinishReason) {
  script(R"({"default": {"answer": "a b c d e f"}})");
  Completion c = ask("go", 2);
  EXPECT_EQ(c.text, "a b");
  EXPECT_EQ(c.finish_reason, GetParam().cut);
}

TEST_P(CloudBackend, Http500IsRetriedThenSucceeds) {
  script(R"({"default": {"answer": "fine", "fault": "http_500", "fault_count": 1}})");
  Completion c = ask("q");
  EXPECT_EQ(c.text, "fine");
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_P(CloudBackend, RateLimitIsRetriedAfterRetryAfter) {
  script(R"({"default": {"answer": "fine", "fault": "http_429", "retry_after_s": 1, "fault_count": 1}})");
  double t0 = now_s();
  Completion c = ask("q");
  EXPECT_GE(now_s() - t0, 1.0);
  EXPECT_EQ(c.text, "fine");
  EXPECT_EQ(c.attempts, 2);
}

TEST_P(CloudBackend, BadRequestFailsAtOnceWithTheApisMessage) {
  script(R"({"default": {"fault": "http_400", "error_message": "max_tokens: 100000 > 64000, the maximum for this model"}})");
  Error e = ask_error("q");
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 400"));
  EXPECT_THAT(e.what(), HasSubstr("max_tokens: 100000 > 64000, the maximum for this model"));
  EXPECT_THAT(e.what(), HasSubstr(server.root_url()));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_P(CloudBackend, KeyIsSentInTheProvidersHeaderAndNeverAppearsInErrors) {
  script(R"({"default": {"fault": "http_401"}})");
  Error e = ask_error("q");
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("401"));
  EXPECT_THAT(e.what(), HasSubstr("Incorrect API key provided"));  // the server's message...
  EXPECT_THAT(e.what(), Not(HasSubstr(kKey)));                     // ...without the key it echoed
  Json sent = server.requests().at(0);
  EXPECT_EQ(sent[GetParam().key_field], kKey);
  EXPECT_EQ(sent["authorization"], "");  // not a Bearer token
}

TEST_P(CloudBackend, TruncatedStreamIsAnErrorAndNotRetried) {
  script(R"({"default": {"answer": "a b c d e f", "fault": "truncate"}})");
  Error e = ask_error("q");
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("truncated"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_P(CloudBackend, MalformedChunkIsAnErrorQuotingIt) {
  script(R"({"default": {"answer": "a b c d", "fault": "malformed_chunk"}})");
  Error e = ask_error("q");
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("{not json"));
  EXPECT_EQ(server.requests().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Providers, CloudBackend, ::testing::Values(kAnthropic, kGemini),
                         [](const auto& info) { return std::string(info.param.provider); });

// One request to the fixture with `provider`'s backend; returns the request the fixture saw.
Json sent_request(const Cloud& cloud, const std::string& model) {
  ScopedEnv key(cloud.key_env, kKey);
  fixture::FixtureServer server;
  BackendOptions o;
  o.base_url = server.root_url() + cloud.base_suffix;
  ChatRequest req;
  req.messages = {{"system", "Answer briefly."}, {"user", "hi"}};
  EXPECT_EQ(make_backend({cloud.provider, model}, o)->complete(req).text, "OK");
  return server.requests().at(0);
}

TEST(AnthropicBackend, PostsToMessagesWithTheVersionHeaderAndTopLevelSystem) {
  Json sent = sent_request(kAnthropic, "claude-sonnet-4-5");
  EXPECT_EQ(sent["path"], "/v1/messages");
  EXPECT_EQ(sent["anthropic-version"], "2023-06-01");
  EXPECT_EQ(sent["body"]["model"], "claude-sonnet-4-5");
  EXPECT_EQ(sent["body"]["system"], "Answer briefly.");
  EXPECT_EQ(sent["body"]["messages"], Json::parse(R"([{"role": "user", "content": "hi"}])"));
  EXPECT_EQ(sent["body"]["max_tokens"], 512);
}

TEST(GeminiBackend, PostsToTheModelsStreamUrlWithSystemInstructionAndGenerationConfig) {
  Json sent = sent_request(kGemini, "gemini-2.5-flash");
  EXPECT_EQ(sent["path"], "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(sent["body"]["systemInstruction"]["parts"][0]["text"], "Answer briefly.");
  EXPECT_EQ(sent["body"]["contents"][0]["parts"][0]["text"], "hi");
  EXPECT_EQ(sent["body"]["generationConfig"]["maxOutputTokens"], 512);
}

}  // namespace
}  // namespace ipw::backends
