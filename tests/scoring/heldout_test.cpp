// The held-out check of answer extraction: at least 200 realistic model outputs, written apart
// from the extractor, each with the answer a careful human grader reads in it; the extractors must
// agree on at least 99% of them. The rules of agreement are in heldout_grader.h.
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "heldout_grader.h"

using namespace ipw::scoring::heldout;

namespace {

const std::string kFile = std::string(IPW_FIXTURES_DIR) + "/extraction/heldout.jsonl";

TEST(Heldout, FileHasAtLeast200OutputsOfEveryKind) {
  auto graded = grade_file(kFile);
  auto t = tally(graded);
  EXPECT_GE(graded.size(), 200u);
  EXPECT_GE(t["mcq"].total, 150u);
  EXPECT_GE(t["numeric"].total, 50u);
  EXPECT_GE(t["exact"].total, 25u);
}

TEST(Heldout, IdsAreUnique) {
  std::set<std::string> seen;
  for (const auto& g : grade_file(kFile)) EXPECT_TRUE(seen.insert(g.id).second) << "duplicate id " << g.id;
}

TEST(Heldout, ExtractionAgreesWithTheHumanGraderOnAtLeast99Percent) {
  auto graded = grade_file(kFile);
  for (const auto& g : graded)
    if (!g.correct) fmt::print("miss {} ({}): expected \"{}\", got \"{}\"\n", g.id, g.kind, g.expected, g.got);
  for (const auto& [kind, t] : tally(graded))
    fmt::print("{}: {}/{} = {:.1f}%\n", kind, t.correct, t.total, t.percent());
  EXPECT_GE(tally(graded)["overall"].percent(), 99.0);
}

}  // namespace
