// Grades the answer extractors against a held-out file of model outputs, each with the answer a
// careful human grader reads in it (tests/fixtures/extraction/heldout.jsonl). One JSON object a
// line: "id", "kind" (mcq | numeric | exact), "n_choices" (mcq), "choices" (optional, mcq),
// "response", "expected" ("" when the human finds no answer), "reference" (numeric, exact) and
// "source_style". A line is correct when
//   mcq     extract_choice (with the choice texts when given) returns the expected letter;
//   numeric extract_number finds the expected number (none when expected is ""), and score()
//           against the reference agrees with the grade the expected number deserves;
//   exact   score() finds the expected text (scored with it as the reference, it gives 1), and
//           score() against the reference gives 1 exactly when expected and reference are equal
//           after normalize_answer; a line with no answer must score 0.
// Shared by the held-out test and the extraction_accuracy bench. A malformed line throws
// Error(input) naming the file and line.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "ipw/core/error.h"
#include "ipw/core/json.h"
#include "ipw/core/strings.h"
#include "ipw/core/types.h"
#include "ipw/scoring/extract_internal.h"
#include "ipw/scoring/scorer.h"

namespace ipw::scoring::heldout {

struct Graded {
  std::string id;
  std::string kind;
  std::string expected;
  std::string got;  // what the extractor returned ("" if nothing)
  bool correct = false;
};

struct Tally {
  size_t correct = 0;
  size_t total = 0;
  double percent() const { return total == 0 ? 0 : 100.0 * static_cast<double>(correct) / static_cast<double>(total); }
};

namespace internal {

inline double canonical_number(const std::string& text, const std::string& where) {
  auto n = detail::parse_number_at(text, 0);
  if (!n || n->end != text.size()) fail(Errc::input, "{}: \"{}\" is not a number as written canonically", where, text);
  return n->value;
}

inline bool same_number(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(1.0, std::fabs(b)); }

inline Graded grade_mcq(const Json& j, Graded g, const std::string& where) {
  if (!j.contains("n_choices")) fail(Errc::input, "{}: an mcq line needs \"n_choices\"", where);
  size_t n = j.at("n_choices").get<size_t>();
  std::vector<std::string> choices = j.value("choices", std::vector<std::string>{});
  if (!choices.empty() && choices.size() != n)
    fail(Errc::input, "{}: {} choices given but n_choices is {}", where, choices.size(), n);
  if (g.expected.size() > 1 || (g.expected.size() == 1 && static_cast<size_t>(g.expected[0] - 'A') >= n))
    fail(Errc::input, "{}: expected \"{}\" is not a letter among the {} choices", where, g.expected, n);
  g.got = choices.empty() ? extract_choice(j.at("response").get<std::string>(), n)
                          : extract_choice(j.at("response").get<std::string>(), choices);
  g.correct = g.got == g.expected;
  return g;
}

inline Graded grade_numeric(const Json& j, Graded g, const std::string& where) {
  std::string response = j.at("response").get<std::string>();
  std::string reference = j.at("reference").get<std::string>();
  double ref = canonical_number(reference, where + " reference");
  double got = 0;
  bool found = extract_number(response, &got, &g.got);
  if (!found) g.got.clear();
  Query q;
  q.scorer = "numeric";
  q.references = {reference};
  double grade = score(q, response).value;
  if (g.expected.empty()) {
    g.correct = !found && grade == 0;
  } else {
    double want = canonical_number(g.expected, where + " expected");
    g.correct = found && same_number(got, want) && grade == (same_number(want, ref) ? 1 : 0);
  }
  return g;
}

inline Graded grade_exact(const Json& j, Graded g) {
  std::string response = j.at("response").get<std::string>();
  std::string reference = j.at("reference").get<std::string>();
  Query q;
  q.scorer = "exact";
  q.references = {reference};
  Score against_reference = score(q, response);
  g.got = against_reference.extracted;
  if (g.expected.empty()) {
    g.correct = against_reference.value == 0;
    return g;
  }
  q.references = {g.expected};
  Score against_expected = score(q, response);
  if (against_reference.value == 0) g.got = against_expected.extracted;
  bool deserved = normalize_answer(g.expected) == normalize_answer(reference);
  g.correct = against_expected.value == 1 && against_reference.value == (deserved ? 1 : 0);
  return g;
}

}  // namespace internal

// Grades every line of the file, in order.
inline std::vector<Graded> grade_file(const std::string& path) {
  std::vector<Graded> out;
  int line_no = 0;
  for (const auto& line : split(read_file(path), '\n')) {
    ++line_no;
    if (trim(line).empty()) continue;
    std::string where = path + ":" + std::to_string(line_no);
    Json j = parse_json(line, where);
    try {
      Graded g;
      g.id = j.at("id").get<std::string>();
      g.kind = j.at("kind").get<std::string>();
      g.expected = j.at("expected").get<std::string>();
      if (g.kind == "mcq") out.push_back(internal::grade_mcq(j, g, where));
      else if (g.kind == "numeric") out.push_back(internal::grade_numeric(j, g, where));
      else if (g.kind == "exact") out.push_back(internal::grade_exact(j, g));
      else fail(Errc::input, "{}: unknown kind \"{}\"; use mcq, numeric or exact", where, g.kind);
    } catch (const Json::exception& e) {
      fail(Errc::input, "{}: missing or mistyped field: {}", where, e.what());
    }
  }
  return out;
}

// Per kind, and "overall".
inline std::map<std::string, Tally> tally(const std::vector<Graded>& graded) {
  std::map<std::string, Tally> out;
  for (const auto& g : graded)
    for (const std::string& key : {g.kind, std::string("overall")}) {
      out[key].total += 1;
      out[key].correct += g.correct ? 1 : 0;
    }
  return out;
}

}  // namespace ipw::scoring::heldout
