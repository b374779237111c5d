// Answer-extraction accuracy on the held-out set of model outputs (see
// tests/scoring/heldout_grader.h for what counts as correct). Usage:
//   extraction_accuracy [heldout.jsonl]    (default: the repository's held-out file)
// Prints one line per kind and one overall, then every miss; exits 0 whatever the accuracy.
#include <cstdio>

#include <fmt/format.h>

#include "heldout_grader.h"

int main(int argc, char** argv) {
  using namespace ipw::scoring::heldout;
  std::string path = argc > 1 ? argv[1] : IPW_HELDOUT_FILE;
  try {
    auto graded = grade_file(path);
    for (const auto& [kind, t] : tally(graded))
      fmt::print("extraction accuracy [{}]: {}/{} = {:.1f}% (target >= 99%, {})\n", kind, t.correct, t.total,
                 t.percent(), t.percent() >= 99.0 ? "PASS" : "FAIL");
    for (const auto& g : graded)
      if (!g.correct) fmt::print("  miss {} ({}): expected \"{}\", got \"{}\"\n", g.id, g.kind, g.expected, g.got);
  } catch (const ipw::Error& e) {
    fmt::print(stderr, "extraction_accuracy: {}\n", e.what());
    return 1;
  }
  return 0;
}
