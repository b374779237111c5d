// The fixture server's own behaviour that other tests rely on: script validation, rule
// matching, echo, fault counts and the request log.
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixture_server.h"
#include "ipw/backends/backend.h"
#include "ipw/core/error.h"

namespace ipw::fixture {
namespace {

using ::testing::HasSubstr;

std::string ask(FixtureServer& s, const std::string& q) {
  backends::BackendOptions o;
  o.base_url = s.base_url();
  o.backoff_initial_s = 0.01;
  auto b = backends::make_backend({"vllm", "m"}, o);
  backends::ChatRequest req;
  req.messages = {{"user", q}};
  return b->complete(req).text;
}

TEST(Fixture, FirstMatchingRuleWinsElseTheDefault) {
  FixtureServer s;
  s.set_script(Json::parse(R"({"rules": [{"match": "apple", "answer": "A"}, {"match": "app", "answer": "B"}],
                               "default": {"answer": "D"}})"));
  EXPECT_EQ(ask(s, "an apple"), "A");
  EXPECT_EQ(ask(s, "an app"), "B");
  EXPECT_EQ(ask(s, "a pear"), "D");
}

TEST(Fixture, EchoAnswersTheLastUserMessage) {
  FixtureServer s;
  s.set_script(Json::parse(R"({"default": {"echo": true}})"));
  EXPECT_EQ(ask(s, "say this  back"), "say this  back");
}

TEST(Fixture, UnknownFaultIsRejectedListingTheKnownOnes) {
  FixtureServer s;
  try {
    s.set_script(Json::parse(R"({"rules": [{"match": "x", "fault": "explode"}]})"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::input);
    EXPECT_THAT(e.what(), HasSubstr("rules[0].fault 'explode'"));
    EXPECT_THAT(e.what(), HasSubstr("stall_mid_stream"));
  }
}

TEST(Fixture, UnknownRuleFieldIsRejected) {
  FixtureServer s;
  EXPECT_THROW(s.set_script(Json::parse(R"({"default": {"anwser": "typo"}})")), Error);
}

TEST(Fixture, RequestLogHoldsEachChatRequestBody) {
  FixtureServer s;
  ask(s, "first");
  ask(s, "second");
  Json log = s.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["path"], "/v1/chat/completions");
  EXPECT_EQ(log[1]["body"]["messages"][0]["content"], "second");
  EXPECT_EQ(log[1]["body"]["stream"], true);
}

TEST(Fixture, RecordsWhenStreamedTokensWereDueAndSent) {
  FixtureServer s;
  s.set_script(Json::parse(R"({"default": {"answer": "a b c", "ttft_ms": 30, "itl_ms": 10}})"));
  ask(s, "q");
  // The server records the timing when its last write completes, which may be just after the
  // client has read the last byte: wait for it (bounded).
  auto t = s.timings();
  for (int i = 0; i < 200 && t.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    t = s.timings();
  }
  ASSERT_EQ(t.size(), 1u);
  EXPECT_NEAR(t[0].scheduled_first_s - t[0].received_s, 0.030, 1e-6);
  EXPECT_NEAR(t[0].scheduled_end_s - t[0].received_s, 0.050, 1e-6);
  EXPECT_GE(t[0].first_sent_s, t[0].scheduled_first_s);  // timers never fire early
  EXPECT_GE(t[0].end_sent_s, t[0].scheduled_end_s);
  EXPECT_EQ(t[0].prompt, "q");
}

}  // namespace
}  // namespace ipw::fixture
