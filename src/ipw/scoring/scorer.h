// Scorers. Each maps (query, model answer) to a score in [0,1] and the answer it extracted,
// which is stored beside the score so a reader can see why.
//   exact   — normalised exact match (case, punctuation, articles, whitespace) of the final answer
//   mcq     — the option letter, robust to how models answer: "The answer is (C)", "**C**",
//             "C) because...", a changed mind (the last explicit answer wins), a reasoning block
//             (<think>...</think>) before the answer
//   numeric — the final number (commas, signs, decimals, fractions, percent, scientific) within
//             the query's tolerance
//   none    — unscored (score is NaN, excluded from accuracy)
#pragma once

#include <string>
#include <string_view>

#include "ipw/core/types.h"

namespace ipw::scoring {

struct Score {
  double value = 0;       // [0,1]; NaN for unscored
  std::string extracted;  // the answer as extracted from the response ("" if none found)
};

Score score(const Query& q, std::string_view response);

// Building blocks, exposed for tests.
std::string strip_reasoning(std::string_view response);  // drops <think>...</think> etc.
std::string normalize_answer(std::string_view s);
std::string extract_choice(std::string_view response, size_t n_choices);  // "" if none
bool extract_number(std::string_view response, double* out, std::string* text);

}  // namespace ipw::scoring
