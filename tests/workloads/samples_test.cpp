// The sample workloads shipped in data/samples validate and are internally consistent.
#include <map>

#include <gtest/gtest.h>

#include "ipw/workloads/workload.h"

using ipw::workloads::load_workload;

namespace {

const std::string kSamples = std::string(IPW_SOURCE_DIR) + "/data/samples/";

TEST(Samples, McqSampleValidatesWith24FourOptionQuestions) {
  auto w = load_workload(kSamples + "mcq.jsonl");
  ASSERT_EQ(w.queries.size(), 24u);
  for (const auto& q : w.queries) {
    SCOPED_TRACE(q.id);
    EXPECT_EQ(q.scorer, "mcq");
    EXPECT_EQ(q.choices.size(), 4u);
    ASSERT_EQ(q.references.size(), 1u);
    const auto& r = q.references[0];
    ASSERT_EQ(r.size(), 1u);
    EXPECT_GE(r[0], 'A');
    EXPECT_LT(static_cast<size_t>(r[0] - 'A'), q.choices.size());  // the answer is one of its choices
  }
}

TEST(Samples, MixedSampleValidatesAndUsesEveryScorerAndTheChatForm) {
  auto w = load_workload(kSamples + "mixed.jsonl");
  EXPECT_GE(w.queries.size(), 10u);
  std::map<std::string, int> scorers;
  bool chat_with_system = false;
  for (const auto& q : w.queries) {
    ++scorers[q.scorer];
    if (q.scorer != "none") {
      EXPECT_FALSE(q.references.empty()) << q.id;
    }
    if (q.messages.size() > 1 && q.messages.front().role == "system") chat_with_system = true;
  }
  EXPECT_GT(scorers["exact"], 0);
  EXPECT_GT(scorers["numeric"], 0);
  EXPECT_GT(scorers["none"], 0);
  EXPECT_TRUE(chat_with_system);
}

}  // namespace
