// Answer extraction: reasoning removal, normalisation, option letters and numbers. The rules are
// documented in scorer.h; the scanners here are hand-written (no std::regex) so that long
// responses cost linear time and no deep recursion.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "ipw/core/strings.h"
#include "ipw/scoring/extract_internal.h"
#include "ipw/scoring/scorer.h"

namespace ipw::scoring {
namespace detail {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

size_t skip(std::string_view s, size_t i, const char* set) {
  while (i < s.size() && std::strchr(set, s[i]) != nullptr && s[i] != '\0') ++i;
  return i;
}

bool word_at(std::string_view low, size_t i, std::string_view w) {
  if (low.substr(i, w.size()) != w) return false;
  bool left = i == 0 || !is_alnum(low[i - 1]);
  size_t e = i + w.size();
  bool right = e >= low.size() || !is_alnum(low[e]) || !is_alnum(w.back());
  return left && right;
}

// "Final Answer" alone on a heading line ("## Final Answer", "**Answer**"): the answer starts on
// the next non-empty line. `i` is where "answer" starts; `j` is just past it and its markup.
std::optional<size_t> heading_answer(std::string_view low, size_t i, size_t j) {
  j = skip(low, j, " \t\r*_`:#");
  if (j < low.size() && low[j] != '\n') return std::nullopt;
  size_t line = low.rfind('\n', i);
  line = line == std::string_view::npos ? 0 : line + 1;
  for (const auto& w : split(low.substr(line, i - line), ' ')) {
    std::string_view word = trim(std::string_view(w));
    while (!word.empty() && std::strchr("#*_`", word.front()) != nullptr) word.remove_prefix(1);
    while (!word.empty() && std::strchr("#*_`", word.back()) != nullptr) word.remove_suffix(1);
    if (!word.empty() && word != "final" && word != "correct" && word != "the" && word != "my") return std::nullopt;
  }
  return skip(low, j, " \t\r\n");
}

std::vector<Cue> answer_cues(std::string_view low) {
  // Dashes count only before a space, so "answer -5" keeps its sign.
  static constexpr std::array<std::string_view, 13> kConnectors = {
      ":", "=", "is", "was", "would be", "should be", "will be", "must be", "would have to be",
      "\xE2\x80\x94", "\xE2\x80\x93", "- ", ">"};
  std::vector<Cue> out;
  for (size_t i = low.find("answer"); i != std::string_view::npos; i = low.find("answer", i + 1)) {
    if (!word_at(low, i, "answer") || (i > 0 && low[i - 1] == '/')) continue;  // not a closing </answer>
    size_t j = skip(low, i + 6, " \t*_`\"'");  // also a JSON key: "answer": "B"
    size_t matched = 0;
    for (auto c : kConnectors)
      if (low.substr(j, c.size()) == c && (!is_alpha(c[0]) || word_at(low, j, c))) {
        matched = c.size();
        break;
      }
    if (matched == 0) {
      if (auto next = heading_answer(low, i, i + 6)) out.push_back({i, *next});
      continue;
    }
    j = skip(low, j + matched, " \t\r\n*_`:\"'");
    if (word_at(low, j, "not")) continue;  // "the answer is not A"
    out.push_back({i, j});
  }
  return out;
}

std::optional<size_t> sentence_end(std::string_view s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n') return i;
    if ((c == '.' || c == '!' || c == '?') && (i + 1 == s.size() || is_space(s[i + 1]))) return i;
  }
  return std::nullopt;
}

std::optional<std::string_view> braced(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return s.substr(open + 1, i - open - 1);
  }
  return std::nullopt;
}

// The content of a short flat brace group opening at s[open] == '{' ("{3}" in \frac{3}{4}); the
// scan is bounded so that many unclosed groups still cost linear time.
std::optional<std::string_view> short_braced(std::string_view s, size_t open) {
  constexpr size_t kMax = 64;
  for (size_t k = open + 1; k < s.size() && k <= open + kMax; ++k) {
    if (s[k] == '{') return std::nullopt;
    if (s[k] == '}') return s.substr(open + 1, k - open - 1);
  }
  return std::nullopt;
}

// \frac{a}{b} (also \dfrac, \tfrac) of two plain numbers, its first brace at s[open].
std::optional<Number> latex_fraction(std::string_view s, size_t begin, size_t open, bool neg) {
  auto a = short_braced(s, open);
  if (!a) return std::nullopt;
  size_t b_open = open + a->size() + 2;
  if (b_open >= s.size() || s[b_open] != '{') return std::nullopt;
  auto b = short_braced(s, b_open);
  if (!b) return std::nullopt;
  auto plain = [](std::string_view x) -> std::optional<double> {
    x = trim(x);
    if (x.find('\\') != std::string_view::npos) return std::nullopt;
    auto n = parse_number_at(x, 0);
    if (!n || n->end != x.size()) return std::nullopt;
    return n->value;
  };
  auto num = plain(*a), den = plain(*b);
  if (!num || !den || *den == 0) return std::nullopt;
  return Number{(neg ? -1 : 1) * *num / *den, begin, b_open + b->size() + 2};
}

// A power of ten after a mantissa: " × 10^22", "\times 10^{-19}", " x 10^8", "·10⁻²⁵". Gives the
// exponent as digits (with its sign) and the offset just past it.
std::optional<std::pair<std::string, size_t>> times_ten_power(std::string_view s, size_t j) {
  static constexpr std::array<std::string_view, 10> kSuperscript = {
      "\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",     "\xE2\x81\xB4",
      "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7", "\xE2\x81\xB8", "\xE2\x81\xB9"};
  size_t k = skip(s, j, " ");
  bool times = false;
  for (std::string_view op : {"\xC3\x97", "\\times", "\\cdot", "\xC2\xB7", "x", "X", "*"})
    if (s.substr(k, op.size()) == op) {
      k = skip(s, k + op.size(), " ");
      times = true;
      break;
    }
  if (!times || s.substr(k, 2) != "10") return std::nullopt;
  k += 2;
  std::string exp;
  if (k < s.size() && s[k] == '^') {
    bool brace = k + 1 < s.size() && s[k + 1] == '{';
    k += brace ? 2 : 1;
    if (s.substr(k, 3) == "\xE2\x88\x92") exp += '-', k += 3;
    else if (k < s.size() && (s[k] == '-' || s[k] == '+')) exp += s[k++];
    while (k < s.size() && is_digit(s[k])) exp += s[k++];
    if (exp.empty() || !is_digit(exp.back())) return std::nullopt;
    if (brace && (k >= s.size() || s[k++] != '}')) return std::nullopt;
    return std::pair{exp, k};
  }
  if (s.substr(k, 3) == "\xE2\x81\xBB") exp += '-', k += 3;  // superscript minus
  for (bool more = true; more;) {
    more = false;
    for (size_t d = 0; d < kSuperscript.size(); ++d)
      if (s.substr(k, kSuperscript[d].size()) == kSuperscript[d]) {
        exp += static_cast<char>('0' + d);
        k += kSuperscript[d].size();
        more = true;
        break;
      }
  }
  if (exp.empty() || !is_digit(exp.back())) return std::nullopt;
  return std::pair{exp, k};
}

std::optional<Number> parse_number_at(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return k < s.size() ? s[k] : '\0'; };
  size_t j = i;
  bool neg = false;
  auto take_sign = [&] {
    if (at(j) == '+' || at(j) == '-') {
      neg = at(j) == '-';
      ++j;
      return true;
    }
    if (s.substr(j, 3) == "\xE2\x88\x92") {  // U+2212 minus sign
      neg = true;
      j += 3;
      return true;
    }
    return false;
  };
  auto take_currency = [&] {
    for (std::string_view sym : {"$", "\xE2\x82\xAC" /* euro */, "\xC2\xA3" /* pound */})
      if (s.substr(j, sym.size()) == sym && s.substr(j + sym.size(), 1) != "\\") {  // "$\frac" is math
        j += sym.size();
        return true;
      }
    return false;
  };
  bool signed_first = take_sign();
  if (take_currency() && !signed_first) take_sign();
  for (std::string_view f : {"\\frac{", "\\dfrac{", "\\tfrac{"})
    if (s.substr(j, f.size()) == f) return latex_fraction(s, i, j + f.size() - 1, neg);

  std::string clean = neg ? "-" : "";
  size_t d0 = j;
  while (is_digit(at(j))) clean += s[j++];
  size_t int_digits = j - d0;
  bool grouped = false;
  if (int_digits >= 1 && int_digits <= 3) {
    while (at(j) == ',' && is_digit(at(j + 1)) && is_digit(at(j + 2)) && is_digit(at(j + 3)) &&
           !is_digit(at(j + 4))) {
      clean.append(s.substr(j + 1, 3));
      j += 4;
      grouped = true;
    }
  }
  bool has_frac = false;
  if (at(j) == '.' && is_digit(at(j + 1))) {
    clean += s[j++];
    while (is_digit(at(j))) clean += s[j++];
    has_frac = true;
  }
  if (int_digits == 0 && !has_frac) return std::nullopt;
  bool has_exp = false;
  if (at(j) == 'e' || at(j) == 'E') {
    size_t k = j + 1;
    if (at(k) == '+' || at(k) == '-') ++k;
    if (is_digit(at(k))) {
      clean += 'e';
      clean.append(s.substr(j + 1, k - j - 1));
      while (is_digit(at(k))) clean += s[k++];
      j = k;
      has_exp = true;
    }
  }
  if (!has_exp)
    if (auto power = times_ten_power(s, j)) {
      clean += 'e' + power->first;
      j = power->second;
      has_exp = true;
    }
  double value = 0;
  auto r = std::from_chars(clean.data(), clean.data() + clean.size(), value);
  if (r.ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  if (!has_frac && !has_exp && !grouped && at(j) == '/' && is_digit(at(j + 1))) {
    size_t k = j + 1;
    while (is_digit(at(k))) ++k;
    double den = 0;
    std::from_chars(s.data() + j + 1, s.data() + k, den);
    if (at(k) == '/') return std::nullopt;  // a date such as 1/2/2020 is not a number
    if (den != 0) {
      value /= den;
      j = k;
    }
  }
  if (at(j) == '%') ++j;
  return Number{value, i, j};
}

bool number_start(std::string_view s, size_t i) {
  char c = s[i];
  bool startish = is_digit(c) || c == '.' || c == '+' || c == '-' || c == '$' ||
                  s.substr(i, 3) == "\xE2\x88\x92" || s.substr(i, 3) == "\xE2\x82\xAC" ||
                  s.substr(i, 2) == "\xC2\xA3" || s.substr(i, 5) == "\\frac" || s.substr(i, 6) == "\\dfrac" ||
                  s.substr(i, 6) == "\\tfrac";
  if (!startish) return false;
  if (i == 0) return true;
  char p = s[i - 1];
  return !is_alnum(p) && p != '_' && p != '.' && p != '/';
}

std::vector<Number> numbers_in(std::string_view s) {
  std::vector<Number> out;
  for (size_t i = 0; i < s.size();) {
    if (number_start(s, i))
      if (auto n = parse_number_at(s, i)) {
        out.push_back(*n);
        i = n->end;
        continue;
      }
    ++i;
  }
  return out;
}

}  // namespace detail

using namespace detail;

std::string strip_reasoning(std::string_view response) {
  static constexpr std::array<std::string_view, 3> kOpen = {"<think>", "<thinking>", "<reasoning>"};
  static constexpr std::array<std::string_view, 3> kClose = {"</think>", "</thinking>", "</reasoning>"};
  std::string low = to_lower(response);
  // One pass, remembering where each tag occurs next so that many tags cost linear time.
  std::array<size_t, 3> next_open{}, next_close{};
  for (size_t t = 0; t < kOpen.size(); ++t) next_open[t] = low.find(kOpen[t]), next_close[t] = low.find(kClose[t]);
  std::string out;
  size_t i = 0;
  for (;;) {
    size_t t = 0;
    for (size_t k = 0; k < kOpen.size(); ++k) {
      if (next_open[k] < i) next_open[k] = low.find(kOpen[k], i);
      if (next_open[k] < next_open[t]) t = k;
    }
    size_t p = next_open[t];
    if (p == std::string::npos) {
      out.append(response.substr(i));
      break;
    }
    out.append(response.substr(i, p - i));
    size_t body = p + kOpen[t].size();
    if (next_close[t] < body) next_close[t] = low.find(kClose[t], body);
    i = next_close[t] == std::string::npos ? body : next_close[t] + kClose[t].size();
  }
  // A closing tag left without its opening one: the chat template opened the block.
  std::string out_low = to_lower(out);
  size_t cut = 0;
  for (auto close : kClose)
    if (size_t p = out_low.rfind(close); p != std::string::npos) cut = std::max(cut, p + close.size());
  return std::string(trim(std::string_view(out).substr(cut)));
}

std::string normalize_answer(std::string_view s) {
  std::string flat;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80) {
      unsigned char d = static_cast<unsigned char>(s[i + 2]);
      if (d == 0x98 || d == 0x99 || d == 0x9C || d == 0x9D || d == 0xA6) {  // quotes, ellipsis
        i += 2;
        continue;
      }
      if (d == 0x93 || d == 0x94) {  // en and em dash
        flat += ' ';
        i += 2;
        continue;
      }
    }
    if (c == '-' || c == '/' || is_space(static_cast<char>(c))) {
      flat += ' ';
    } else if (c < 0x80 && std::ispunct(c)) {
      continue;
    } else {
      flat += static_cast<char>(std::tolower(c));
    }
  }
  std::string out;
  for (const auto& w : split(flat, ' ')) {
    if (w.empty() || w == "a" || w == "an" || w == "the") continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

namespace {

// Words that may stand between a statement and its letter: "the answer is probably option B",
// "that's answer choice D".
constexpr std::array<std::string_view, 9> kFillers = {"answer", "option", "choice",     "letter",    "probably",
                                                      "most",   "likely", "definitely", "clearly"};

// An option letter read after a statement: its index (-1: none) and the offset just past it.
struct Letter {
  int idx = -1;
  size_t end = 0;
};

// The option letter at i (after "answer is", "go with", ...). Lowercase letters are accepted
// here; "a" and "i" only before punctuation or the end (they are English words).
Letter letter_at(std::string_view s, std::string_view low, size_t i, size_t n) {
  i = skip(s, i, " \t\r\n*_`\"'");
  for (bool more = true; more;) {
    more = false;
    for (std::string_view w : kFillers)
      if (word_at(low, i, w)) {
        i = skip(s, i + w.size(), " \t*_`:");
        more = true;
        break;
      }
  }
  for (bool more = true; more;) {
    more = false;
    for (std::string_view wrap : {"\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"})
      if (s.substr(i, wrap.size()) == wrap) i += wrap.size(), more = true;
    size_t k = skip(s, i, "([{*_`$ ");
    if (k != i) i = k, more = true;
  }
  if (i >= s.size() || !is_alpha(s[i])) return {};
  char c = s[i];
  int idx = (c >= 'a' ? c - 'a' : c - 'A');
  if (idx < 0 || static_cast<size_t>(idx) >= n) return {};
  Letter hit{idx, i + 1};
  if (i + 1 == s.size()) return hit;
  char d = s[i + 1];
  if (std::strchr(")]}.,:;!?*_`\"'$<\r\n", d) != nullptr) return hit;
  if ((d == ' ' || d == '\t') && c != 'a' && c != 'i') return hit;
  return {};
}

// The letter that ended at `end` closes its clause: "Probably C, but", "So C.", "it's (D)." — not
// "so B is wrong". Hedged and terse statements need this.
bool ends_clause(std::string_view s, size_t end) {
  size_t k = skip(s, end, ")]}*_`\"'$");
  if (k < s.size() && std::strchr(".,;:!?\r\n", s[k]) != nullptr) return true;
  k = skip(s, k, " \t");
  return k >= s.size() || s[k] == '(' || s[k] == '-' || s.substr(k, 3) == "\xE2\x80\x94" ||
         s.substr(k, 3) == "\xE2\x80\x93";
}

// The word that ends before i (letters and apostrophes), skipping space and markdown.
std::string_view word_before(std::string_view low, size_t i) {
  size_t e = i;
  while (e > 0 && std::strchr(" \t*_`(\"", low[e - 1]) != nullptr) --e;
  size_t b = e;
  while (b > 0 && (is_alpha(low[b - 1]) || low[b - 1] == '\'')) --b;
  return low.substr(b, e - b);
}

bool one_of(std::string_view w, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), w) != set.end();
}

// Calls f(i) for every whole-word occurrence of w in low.
template <typename F>
void for_each_word(std::string_view low, std::string_view w, F f) {
  for (size_t i = low.find(w); i != std::string_view::npos; i = low.find(w, i + 1))
    if (word_at(low, i, w)) f(i);
}

// The choice whose text the sentence at i starts with ("the answer is Jupiter."), or -1.
int choice_text_at(std::string_view s, size_t i, const std::vector<std::string>* texts) {
  if (texts == nullptr || i >= s.size()) return -1;
  std::string_view ahead = s.substr(i, 400);  // a bounded look keeps many statements linear
  std::string seg = " " + normalize_answer(ahead.substr(0, sentence_end(ahead, 0).value_or(ahead.size()))) + " ";
  int best = -1;
  size_t best_len = 0;
  for (size_t k = 0; k < texts->size(); ++k) {
    std::string c = normalize_answer((*texts)[k]);
    if (!c.empty() && c.size() > best_len && seg.compare(0, c.size() + 2, " " + c + " ") == 0)
      best = static_cast<int>(k), best_len = c.size();
  }
  return best;
}

// The letter written in low[open, close) is one of several alternatives or a supposition:
// "(A) or (B)", "between **B** and **D**", "whether (A) ...", "if B is correct".
bool offered(std::string_view low, size_t open, size_t close) {
  size_t k = skip(low, close, " \t*_`)]");
  for (std::string_view w : {"or", "and", "nor", "vs", "versus"})
    if (word_at(low, k, w)) return true;
  return one_of(word_before(low, open),
                {"or", "and", "nor", "vs", "versus", "either", "whether", "between", "if", "unless"});
}

// Rule 1: explicit statements, the last one winning. Firm ones ("the answer is C", "I'll go with
// C", "\boxed{C}", "C is correct") come first; hedged or terse ones ("I believe it's D",
// "Probably C.", "So C.", "we are left with C", "which is option B") count only without a firm one.
int statement_letter(std::string_view s, size_t n, const std::vector<std::string>* texts) {
  std::string low = to_lower(s);
  struct Last {
    size_t pos = 0;
    int idx = -1;
    void offer(size_t p, int i) {
      if (i >= 0 && (idx < 0 || p >= pos)) pos = p, idx = i;
    }
  } firm, hedged;
  // A statement names the letter or, when the choice texts are known, a choice's text.
  auto read = [&](size_t j) {
    int idx = letter_at(s, low, j, n).idx;
    return idx >= 0 ? idx : choice_text_at(s, j, texts);
  };
  for (const auto& c : answer_cues(low)) firm.offer(c.start, read(c.after));
  // "the correct option is C", "best choice: C", a JSON key "choice": "D" (an unqualified
  // "Option B: London" in a walk through the options is not an answer); "which is option B"
  for (std::string_view w : {"option", "choice"})
    for_each_word(low, w, [&](size_t i) {
      bool key = i > 0 && low[i - 1] == '"' && low.substr(i + w.size(), 1) == "\"";
      if (key || one_of(word_before(low, i), {"correct", "right", "best", "final", "my", "chosen"})) {
        size_t j = skip(low, i + w.size(), " \t*_`\"");
        for (int words = 0; words < 3 && j < low.size() && is_alpha(low[j]) && !word_at(low, j, "is"); ++words) {  // "best option here is"
          while (j < low.size() && is_alpha(low[j])) ++j;
          j = skip(low, j, " \t");
        }
        if (word_at(low, j, "is")) j += 2;
        else if (low.substr(j, 1) == ":") j += 1;
        else return;
        if (!word_at(low, skip(low, j, " \t*_`:\""), "not")) firm.offer(i, read(j));
      } else if (one_of(word_before(low, i), {"is", "be", "was", "it's", "that's"})) {
        hedged.offer(i, letter_at(s, low, i, n).idx);
      }
    });
  for (std::string_view w : {"go with", "going with", "choose", "choosing", "pick", "picking", "select", "selecting",
                             "opt for", "lean towards", "lean toward", "leaning towards", "leaning toward"})
    for_each_word(low, w, [&](size_t i) { firm.offer(i, read(i + w.size())); });
  for_each_word(low, "correct", [&](size_t i) {  // "Correct: B"
    size_t j = skip(low, i + 7, " \t*_`");
    if (low.substr(j, 1) == ":") firm.offer(i, letter_at(s, low, j + 1, n).idx);
  });
  for (size_t i = s.find("\\boxed{"); i != std::string::npos; i = s.find("\\boxed{", i + 1)) firm.offer(i, read(i + 7));
  // "C is correct", "(B) is the correct answer", "option c is correct", "B is the better answer"
  for (std::string_view w : {" is correct", " is the correct", " is the right", " is right", " is the answer",
                             " is the best", " is the better", " is my"})
    for (size_t i = low.find(w); i != std::string::npos; i = low.find(w, i + 1)) {
      size_t k = i;
      while (k > 0 && std::strchr(")]*_`", s[k - 1]) != nullptr) --k;
      if (k == 0 || !is_alpha(s[k - 1]) || (k >= 2 && is_alnum(s[k - 2]))) continue;
      char c = s[k - 1];
      bool upper = c <= 'Z';
      bool marked = (k >= 2 && std::strchr("([", s[k - 2]) != nullptr) ||
                    one_of(word_before(low, k - 1), {"option", "choice"});
      size_t idx = static_cast<size_t>(upper ? c - 'A' : c - 'a');
      if (idx < n && (upper || marked) && !offered(low, k - 1, k)) firm.offer(k - 1, static_cast<int>(idx));
    }
  // A sentence that is only the letter and ends its line: "... mentions the control group. B."
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 'A' || s[i] > 'Z' || static_cast<size_t>(s[i] - 'A') >= n) continue;
    size_t b = i;
    while (b > 0 && std::strchr("*_`(", s[b - 1]) != nullptr) --b;
    if (b < 3 || s[b - 1] != ' ' || std::strchr(".!?", s[b - 2]) == nullptr) continue;
    size_t e = skip(s, i + 1, "*_`).!");
    if (e == i + 1 || (e < s.size() && s[e] != '\n' && s[e] != '\r')) continue;
    firm.offer(i, s[i] - 'A');
  }
  if (firm.idx >= 0) return firm.idx;
  // "C seems most consistent", "B looks right"
  for (std::string_view w : {" seems", " looks", " appears"})
    for (size_t i = low.find(w); i != std::string::npos; i = low.find(w, i + 1)) {
      size_t k = i;
      while (k > 0 && std::strchr(")]*_`", s[k - 1]) != nullptr) --k;
      if (k == 0 || s[k - 1] < 'A' || s[k - 1] > 'Z' || static_cast<size_t>(s[k - 1] - 'A') >= n ||
          (k >= 2 && is_alnum(s[k - 2])))
        continue;
      size_t j = skip(low, i + w.size(), " \t");
      for (std::string_view link : {"to be ", "like "})
        if (low.compare(j, link.size(), link) == 0) j += link.size();
      if (low.compare(j, 4, "the ") == 0) j += 4;
      for (std::string_view good : {"correct", "right", "best", "most", "more"})
        if (word_at(low, j, good)) hedged.offer(k - 1, s[k - 1] - 'A');
    }
  for (std::string_view w : {"it's", "it\xE2\x80\x99s", "it is", "that's", "would be", "should be", "probably", "likely",
                             "say", "therefore", "thus", "hence", "so", "guess is", "guess would be", "guess:"})
    for_each_word(low, w, [&](size_t i) {
      Letter l = letter_at(s, low, skip(low, i + w.size(), " \t,"), n);
      if (l.idx >= 0 && ends_clause(s, l.end) && !offered(low, l.end - 1, l.end)) hedged.offer(i, l.idx);
    });
  for (std::string_view w : {"only", "left with", "leaves", "leaving"})
    for_each_word(low, w, [&](size_t i) {
      Letter l = letter_at(s, low, i + w.size(), n);
      if (l.idx >= 0 && !offered(low, l.end - 1, l.end)) hedged.offer(i, l.idx);
    });
  return hedged.idx;
}

// Rule 2: the response starts with the letter and a delimiter ("C)", "(b)", "Option B.").
int leading_letter(std::string_view t, size_t n) {
  size_t i = skip(t, 0, "*_#` \t");
  std::string low = to_lower(t.substr(i, 8));
  bool named = false;
  for (std::string_view w : {"option", "choice"})
    if (word_at(low, 0, w)) {
      i = skip(t, i + w.size(), " \t*_`");
      named = true;
      break;
    }
  char open = 0;
  if (i < t.size() && (t[i] == '(' || t[i] == '[')) open = t[i++];
  if (i >= t.size() || !is_alpha(t[i])) return -1;
  bool lower = t[i] >= 'a';
  int idx = lower ? t[i] - 'a' : t[i] - 'A';
  if (static_cast<size_t>(idx) >= n) return -1;
  size_t k = i + 1;
  if (open) return k < t.size() && t[k] == (open == '(' ? ')' : ']') ? idx : -1;
  if (k == t.size()) return idx;
  if (named) return std::strchr(".,)*_\r\n", t[k]) != nullptr ? idx : -1;  // not "Option A: the capital..."
  if (lower) return t[k] == ')' ? idx : -1;
  if (t[k] == ' ') {  // "B — Tokyo", "C - because"
    size_t d = k + 1;
    return t.substr(d, 1) == "-" || t.compare(d, 3, "\xE2\x80\x94") == 0 || t.compare(d, 3, "\xE2\x80\x93") == 0 ? idx : -1;
  }
  return std::strchr(")].:,;*_}\r\n", t[k]) != nullptr ? idx : -1;
}

// Rule 3: exactly one option marked right in a walk through the options: lines that start with
// the letter ("| B |", "- C)", "Option C:") and carry a check mark or "correct" without a mark
// against ("✗", "❌", "incorrect", "wrong", "not correct").
int marked_letter(std::string_view t, size_t n) {
  int found = -1;
  for (const auto& line : split(t, '\n')) {
    std::string low = to_lower(line);
    size_t b = skip(low, 0, " \t|-*+>#`_");
    if (b < low.size() && is_digit(low[b])) {
      size_t k = skip(low, b, "0123456789");
      if (k < low.size() && (low[k] == '.' || low[k] == ')')) b = skip(low, k + 1, " \t*_`");
    }
    for (std::string_view w : {"option", "choice"})
      if (word_at(low, b, w)) b = skip(low, b + w.size(), " \t*_`");
    b = skip(low, b, "([");
    if (b >= line.size() || line[b] < 'A' || line[b] > 'Z' || static_cast<size_t>(line[b] - 'A') >= n) continue;
    // a label, not a word: "A)", "A.", "A:", "| A |", "**A** –" but not "A catalyst", "I think"
    size_t d = skip(low, b + 1, " \t*_`");
    if (d < low.size() && std::strchr(")].:|-", low[d]) == nullptr && low.compare(d, 3, "\xE2\x80\x94") != 0 &&
        low.compare(d, 3, "\xE2\x80\x93") != 0)
      continue;
    auto has = [&](std::string_view x) { return low.find(x) != std::string::npos; };
    bool against = has("\xE2\x9C\x97") || has("\xE2\x9C\x98") || has("\xE2\x9D\x8C") || has("incorrect") ||
                   has("wrong") || has("not correct") || has("false");
    bool right = has("\xE2\x9C\x93") || has("\xE2\x9C\x94") || has("\xE2\x9C\x85");
    for_each_word(low, "correct", [&](size_t) { right = true; });
    if (!right || against) continue;
    if (found >= 0 && found != line[b] - 'A') return -1;
    found = line[b] - 'A';
  }
  return found;
}

// Rule 4: the last lone letter in bold or brackets or alone on a line. A letter offered as one of
// several ("(A) or (B)", "between **B** and **D**") is not an answer.
int last_lone_letter(std::string_view t, size_t n) {
  std::string low = to_lower(t);
  size_t best_pos = 0;
  int best = -1;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c < 'A' || c > 'Z' || static_cast<size_t>(c - 'A') >= n) continue;
    bool bold = i >= 2 && t.substr(i - 2, 2) == "**" && t.substr(i + 1, 2) == "**";
    bool bracket = i >= 1 && i + 1 < t.size() &&
                   ((t[i - 1] == '(' && t[i + 1] == ')') || (t[i - 1] == '[' && t[i + 1] == ']'));
    if (bold && !offered(low, i - 2, i + 3)) best_pos = i, best = c - 'A';
    if (bracket && !offered(low, i - 1, i + 2)) best_pos = i, best = c - 'A';
  }
  size_t start = 0;
  for (const auto& line : split(t, '\n')) {
    std::string_view l = line;
    size_t b = skip(l, 0, " \t\r*_`#.:()[]");
    size_t e = l.size();
    while (e > b && std::strchr(" \t\r*_`#.:()[]", l[e - 1]) != nullptr) --e;
    if (e == b + 1 && l[b] >= 'A' && l[b] <= 'Z' && static_cast<size_t>(l[b] - 'A') < n &&
        (best < 0 || start + b >= best_pos))
      best_pos = start + b, best = l[b] - 'A';
    start += line.size() + 1;
  }
  return best;
}

// Rule 5: the text of exactly one choice. A text named only as a foil ("not Saturn", "more than
// oxygen", "unlike Mars") does not count.
int matching_choice_text(std::string_view t, const std::vector<std::string>& choices) {
  std::string resp = normalize_answer(t);
  std::vector<std::string> norm;
  for (const auto& c : choices) norm.push_back(normalize_answer(c));
  auto unique = [&](auto pred) {
    int found = -1;
    for (size_t i = 0; i < norm.size(); ++i) {
      if (norm[i].empty() || !pred(norm[i])) continue;
      if (found >= 0) return -1;
      found = static_cast<int>(i);
    }
    return found;
  };
  if (int i = unique([&](const std::string& c) { return c == resp; }); i >= 0) return i;
  std::string padded = " " + resp + " ";
  return unique([&](const std::string& c) {
    std::string w = " " + c + " ";
    for (size_t p = padded.find(w); p != std::string::npos; p = padded.find(w, p + 1))
      if (!one_of(word_before(padded, p + 1), {"not", "than", "unlike", "except", "instead", "nor", "besides"}))
        return true;
    return false;
  });
}

std::string choice_letter(std::string_view response, size_t n, const std::vector<std::string>* texts) {
  n = std::min<size_t>(n, 26);
  std::string t = strip_reasoning(response);
  int idx = statement_letter(t, n, texts);
  if (idx < 0) idx = leading_letter(t, n);
  if (idx < 0) idx = marked_letter(t, n);
  if (idx < 0) idx = last_lone_letter(t, n);
  if (idx < 0 && texts != nullptr) idx = matching_choice_text(t, *texts);
  return idx < 0 ? std::string() : std::string(1, static_cast<char>('A' + idx));
}

// The number a statement segment gives: the one after its last '=', else its first.
std::optional<Number> statement_number(std::string_view s, size_t from, size_t to) {
  std::string_view seg = s.substr(from, to - from);
  size_t eq = seg.rfind('=');
  auto nums = numbers_in(seg);
  std::optional<Number> pick;
  for (const auto& n : nums)
    if (eq != std::string_view::npos && n.begin > eq) {
      pick = n;
      break;
    }
  if (!pick && !nums.empty()) pick = nums.front();
  if (pick) pick->begin += from, pick->end += from;
  return pick;
}

}  // namespace

std::string extract_choice(std::string_view response, size_t n_choices) {
  return choice_letter(response, n_choices, nullptr);
}

std::string extract_choice(std::string_view response, const std::vector<std::string>& choices) {
  return choice_letter(response, choices.size(), &choices);
}

bool extract_number(std::string_view response, double* out, std::string* text) {
  std::string t = strip_reasoning(response);
  std::string_view tv = t;
  std::string low = to_lower(t);
  enum class Kind { statement, hashes, boxed };
  struct Statement {
    size_t start, after;
    Kind kind;
  };
  std::vector<Statement> found;
  for (const auto& c : answer_cues(low)) found.push_back({c.start, c.after, Kind::statement});
  for (size_t i = t.find("####"); i != std::string::npos; i = t.find("####", i + 4))
    found.push_back({i, i + 4, Kind::hashes});
  for (size_t i = t.find("\\boxed{"); i != std::string::npos; i = t.find("\\boxed{", i + 1))
    found.push_back({i, i + 6, Kind::boxed});
  std::sort(found.begin(), found.end(), [](const Statement& a, const Statement& b) { return a.start > b.start; });
  // The last statement that holds a number wins. Each looks at most kMaxStatement bytes ahead,
  // which keeps a long response with many statements linear.
  constexpr size_t kMaxStatement = 400;
  for (const auto& st : found) {
    std::string_view ahead = tv.substr(st.after, kMaxStatement);
    std::optional<Number> n;
    if (st.kind == Kind::boxed) {
      auto content = braced(ahead, 0);
      if (!content) continue;
      n = statement_number(*content, 0, content->size());
      ahead = *content;
    } else if (st.kind == Kind::hashes) {
      auto nums = numbers_in(ahead.substr(0, std::min(ahead.find('\n'), ahead.size())));
      if (!nums.empty()) n = nums.front();
    } else {
      n = statement_number(ahead, 0, sentence_end(ahead, 0).value_or(ahead.size()));
    }
    if (!n) continue;
    *out = n->value;
    if (text != nullptr) *text = std::string(ahead.substr(n->begin, n->end - n->begin));
    return true;
  }
  auto nums = numbers_in(tv);
  if (nums.empty()) return false;
  *out = nums.back().value;
  if (text != nullptr) *text = std::string(tv.substr(nums.back().begin, nums.back().end - nums.back().begin));
  return true;
}

}  // namespace ipw::scoring
