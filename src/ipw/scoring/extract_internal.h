// Scanners shared by the extractors and the scorers (not part of the public API). Positions are
// byte offsets; `low` arguments are the ASCII-lowercased text, which has the same offsets.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace ipw::scoring::detail {

bool is_digit(char c);
bool is_alpha(char c);
bool is_alnum(char c);
bool is_space(char c);
// The first index >= i whose character is not in `set`.
size_t skip(std::string_view s, size_t i, const char* set);
// `w` occurs at i and is not part of a longer word.
bool word_at(std::string_view low, size_t i, std::string_view w);

// An explicit answer statement ("answer is", "answer:", "final answer =", "answer — ", a JSON key
// "answer": ..., an <answer> tag, a heading line "## Final Answer" whose answer is on the next
// line): where it starts and where the answer after it starts. "the answer is not ..." is not one.
struct Cue {
  size_t start;
  size_t after;
};
std::vector<Cue> answer_cues(std::string_view low);
// The end of the sentence that contains `from`: a newline, or . ! ? before a space or the end.
std::optional<size_t> sentence_end(std::string_view s, size_t from);
// The text inside the braces that open at s[open] == '{', if they close.
std::optional<std::string_view> braced(std::string_view s, size_t open);

// A number as written in text, [begin, end).
struct Number {
  double value;
  size_t begin;
  size_t end;
};
// The number written at s[i] ("-$1,200.50", "3/4", "\frac{3}{4}", "1e-3", "3.0 × 10^22",
// "50%"), if any.
std::optional<Number> parse_number_at(std::string_view s, size_t i);
// Every number in s, left to right; a number never starts inside a word ("Qwen3", "x2") or
// after '/', and a date such as 1/2/2020 is none.
std::vector<Number> numbers_in(std::string_view s);

}  // namespace ipw::scoring::detail
