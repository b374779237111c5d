// The backends against the in-process fixture server on an ephemeral port: timing, token
// counts, reasoning, the retry policy, timeouts, faults, cancellation and key handling.
#include <cstdlib>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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

class FixtureBackend : public ::testing::Test {
 protected:
  void script(const char* text) { server.set_script(Json::parse(text)); }

  BackendOptions options() {
    BackendOptions o;
    o.base_url = server.base_url();
    o.backoff_initial_s = 0.01;
    o.backoff_max_s = 0.05;
    o.idle_timeout_s = 60;
    o.total_timeout_s = 120;
    return o;
  }

  Completion ask(const std::string& question, BackendOptions o, const CancelFlag* cancel = nullptr) {
    auto b = make_backend({"vllm", "test-model"}, o);
    ChatRequest req;
    req.messages = {{"system", "Answer briefly."}, {"user", question}};
    return b->complete(req, cancel);
  }
  Completion ask(const std::string& question) { return ask(question, options()); }

  // The error complete() throws (fails the test when it returns).
  Error ask_error(const std::string& question, BackendOptions o, const CancelFlag* cancel = nullptr) {
    try {
      ask(question, o, cancel);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "complete() did not throw";
    return Error(Errc::internal, "");
  }

  fixture::FixtureServer server;
};

TEST_F(FixtureBackend, TtftIsMeasuredAtFirstContentNotAtTheRoleChunk) {
  script(R"({"default": {"answer": "Paris is the capital.", "ttft_ms": 300, "itl_ms": 5}})");
  Completion c = ask("capital of France?");
  EXPECT_EQ(c.text, "Paris is the capital.");
  EXPECT_GE(c.ttft_s(), 0.3);  // the role chunk came at once; the first token after 300 ms
  EXPECT_EQ(c.token_times_s.size(), 4u);
  EXPECT_GE(c.latency_s(), c.ttft_s());
  EXPECT_EQ(c.attempts, 1);
}

TEST_F(FixtureBackend, LlamaCppStyleNullFirstContentDoesNotCountAsAToken) {
  script(R"({"default": {"answer": "ok then", "first_content_null": true, "ttft_ms": 100}})");
  Completion c = ask("hi");
  EXPECT_EQ(c.text, "ok then");
  EXPECT_GE(c.ttft_s(), 0.1);
  EXPECT_EQ(c.token_times_s.size(), 2u);
}

TEST_F(FixtureBackend, UsageReportedByTheServerIsUsed) {
  script(R"({"default": {"answer": "one two three four"}})");
  Completion c = ask("count");
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 4);
  EXPECT_EQ(c.prompt_tokens, 5);  // fixture: (14 + 5 characters + 3) / 4
  EXPECT_EQ(c.finish_reason, "stop");
}

TEST_F(FixtureBackend, TokensAreEstimatedWhenUsageIsAbsent) {
  script(R"({"default": {"answer": "one two three", "usage": false}})");
  Completion c = ask("count");
  EXPECT_TRUE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 3);
  EXPECT_EQ(c.prompt_tokens, 5);
}

TEST_F(FixtureBackend, ReasoningIsSeparatedFromTheAnswer) {
  script(R"({"default": {"reasoning": "Six times seven.", "answer": "42", "ttft_ms": 50, "itl_ms": 20}})");
  Completion c = ask("6*7?");
  EXPECT_EQ(c.reasoning, "Six times seven.");
  EXPECT_EQ(c.text, "42");
  EXPECT_EQ(c.reasoning_tokens, 3);
  EXPECT_EQ(c.completion_tokens, 4);
  ASSERT_GE(c.first_reasoning_s, 0);
  EXPECT_GE(c.first_token_s - c.first_reasoning_s, 0.05);  // three token gaps of 20 ms
}

TEST_F(FixtureBackend, MaxTokensCutsTheAnswerWithFinishReasonLength) {
  script(R"({"default": {"answer": "a b c d e f"}})");
  BackendOptions o = options();
  auto b = make_backend({"vllm", "m"}, o);
  ChatRequest req;
  req.messages = {{"user", "go"}};
  req.params.max_tokens = 2;
  Completion c = b->complete(req);
  EXPECT_EQ(c.text, "a b");
  EXPECT_EQ(c.finish_reason, "length");
}

TEST_F(FixtureBackend, NonStreamedAnswerFromAServerIgnoringStreamIsAccepted) {
  script(R"({"default": {"answer": "plain answer", "ignore_stream": true}})");
  Completion c = ask("q");
  EXPECT_EQ(c.text, "plain answer");
  EXPECT_EQ(c.completion_tokens, 2);
  EXPECT_FALSE(c.tokens_estimated);
}

TEST_F(FixtureBackend, Http500IsRetriedThenSucceeds) {
  script(R"({"default": {"answer": "fine", "fault": "http_500", "fault_count": 1}})");
  Completion c = ask("q");
  EXPECT_EQ(c.text, "fine");
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(FixtureBackend, ConnectionResetBeforeAnswerIsRetried) {
  script(R"({"default": {"answer": "fine", "fault": "reset", "fault_count": 1}})");
  Completion c = ask("q");
  EXPECT_EQ(c.text, "fine");
  EXPECT_EQ(c.attempts, 2);
}

TEST_F(FixtureBackend, RetryAfterIsHonoured) {
  script(R"({"default": {"answer": "fine", "fault": "http_429", "retry_after_s": 1, "fault_count": 1}})");
  double t0 = now_s();
  Completion c = ask("q");
  EXPECT_GE(now_s() - t0, 1.0);
  EXPECT_EQ(c.attempts, 2);
}

TEST_F(FixtureBackend, GivesUpAfterMaxRetriesNamingStatusAndAttempts) {
  script(R"({"default": {"fault": "http_500"}})");
  BackendOptions o = options();
  o.max_retries = 2;
  Error e = ask_error("q", o);
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 500"));
  EXPECT_THAT(e.what(), HasSubstr("3 attempts"));
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(FixtureBackend, BadRequestFailsAtOnceWithTheServerMessage) {
  script(R"({"default": {"fault": "http_400", "error_message": "temperature must be at most 2"}})");
  Error e = ask_error("q", options());
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("temperature must be at most 2"));
  EXPECT_THAT(e.what(), HasSubstr(server.base_url() + "/chat/completions"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(FixtureBackend, ConnectionRefusedIsANetworkErrorNamingTheUrl) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();  // nothing listens there now
  BackendOptions o = options();
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  o.max_retries = 1;
  Error e = ask_error("q", o);
  EXPECT_EQ(e.code(), Errc::network);
  EXPECT_THAT(e.what(), HasSubstr(o.base_url + "/chat/completions"));
  EXPECT_THAT(e.what(), HasSubstr("is the server running"));
}

TEST_F(FixtureBackend, StallBeforeFirstByteTimesOut) {
  script(R"({"default": {"fault": "stall_before_first_byte", "stall_ms": 30000}})");
  BackendOptions o = options();
  o.idle_timeout_s = 1;
  o.max_retries = 0;
  double t0 = now_s();
  Error e = ask_error("q", o);
  EXPECT_EQ(e.code(), Errc::timeout);
  EXPECT_THAT(e.what(), HasSubstr("no response"));
  EXPECT_THAT(e.what(), HasSubstr("--idle-timeout"));
  EXPECT_LT(now_s() - t0, 15.0);  // bounded: not the 30 s stall
}

TEST_F(FixtureBackend, StallMidStreamTimesOutWithoutRetry) {
  script(R"({"default": {"answer": "a b c d e f", "fault": "stall_mid_stream", "stall_ms": 30000}})");
  BackendOptions o = options();
  o.idle_timeout_s = 1;
  Error e = ask_error("q", o);
  EXPECT_EQ(e.code(), Errc::timeout);
  EXPECT_THAT(e.what(), HasSubstr("partial answer was discarded"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(FixtureBackend, TruncatedStreamIsAnErrorAndNotRetried) {
  script(R"({"default": {"answer": "a b c d e f", "fault": "truncate"}})");
  Error e = ask_error("q", options());
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("truncated"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(FixtureBackend, MalformedChunkIsAnErrorQuotingIt) {
  script(R"({"default": {"answer": "a b c d", "fault": "malformed_chunk"}})");
  Error e = ask_error("q", options());
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("{not json"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(FixtureBackend, HtmlPageIsRejectedWithoutRetry) {
  script(R"({"default": {"fault": "wrong_content_type"}})");
  Error e = ask_error("q", options());
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("text/html"));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(FixtureBackend, CancelAbortsASlowStreamPromptly) {
  script(R"({"default": {"answer": "one two three four five six seven eight nine ten eleven twelve", "itl_ms": 1000}})");
  CancelFlag cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  double t0 = now_s();
  Error e = ask_error("q", options(), &cancel);
  stopper.join();
  EXPECT_EQ(e.code(), Errc::cancelled);
  EXPECT_LT(now_s() - t0, 5.0);  // the stream would take 11 s
}

TEST_F(FixtureBackend, CancelInterruptsTheBackoffWait) {
  script(R"({"default": {"fault": "http_429", "retry_after_s": 60}})");
  CancelFlag cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  double t0 = now_s();
  Error e = ask_error("q", options(), &cancel);
  stopper.join();
  EXPECT_EQ(e.code(), Errc::cancelled);
  EXPECT_LT(now_s() - t0, 10.0);
}

TEST_F(FixtureBackend, ConsecutiveRequestsOnAThreadReuseOneConnection) {
  script(R"({"default": {"answer": "ok"}})");
  auto b = make_backend({"vllm", "m"}, options());
  ChatRequest req;
  req.messages = {{"user", "hi"}};
  std::thread worker([&] {  // a fresh thread: its own handles, no connection from other tests
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b->complete(req).text, "ok");
  });
  worker.join();
  EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_F(FixtureBackend, OllamaNativeStreamGivesCountsAndServerTimings) {
  script(R"({"default": {"reasoning": "Short thought.", "answer": "Canberra is the capital.", "ttft_ms": 20, "itl_ms": 10}})");
  BackendOptions o = options();
  o.base_url = server.root_url();
  auto b = make_backend({"ollama", "qwen3:8b"}, o);
  EXPECT_EQ(b->endpoint(), server.root_url() + "/api/chat");
  ChatRequest req;
  req.messages = {{"user", "capital of Australia?"}};
  Completion c = b->complete(req);
  EXPECT_EQ(c.text, "Canberra is the capital.");
  EXPECT_EQ(c.reasoning, "Short thought.");
  EXPECT_EQ(c.completion_tokens, 6);
  EXPECT_EQ(c.prompt_tokens, 6);
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_NEAR(c.server_prompt_eval_s, 0.020, 1e-9);
  EXPECT_NEAR(c.server_eval_s, 0.060, 1e-9);
  EXPECT_EQ(c.finish_reason, "stop");
  auto sent = server.requests().at(0)["body"];
  EXPECT_EQ(sent["options"]["num_predict"], 512);
}

TEST_F(FixtureBackend, ApiKeyIsSentAsBearerAndNeverAppearsInErrors) {
  const char* key = "sk-ipw-test-9f8e7d6c5b4a";
  ScopedEnv env("IPW_TEST_API_KEY", key);
  script(R"({"default": {"fault": "http_401"}})");
  BackendOptions o = options();
  o.api_key_env = "IPW_TEST_API_KEY";
  auto b = make_backend({"openai-compatible", "m"}, o);
  ChatRequest req;
  req.messages = {{"user", "hi"}};
  try {
    b->complete(req);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("401"));
    EXPECT_THAT(e.what(), HasSubstr("Incorrect API key provided"));  // the server's message...
    EXPECT_THAT(e.what(), Not(HasSubstr(key)));                      // ...without the key it echoed
  }
  EXPECT_EQ(server.requests().at(0)["authorization"], std::string("Bearer ") + key);
}

}  // namespace
}  // namespace ipw::backends
