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

std::vector<Cue> answer_cues(std::string_view low) {
  static constexpr std::array<std::string_view, 9> kConnectors = {
      ":", "=", "is", "was", "would be", "should be", "will be", "must be", "would have to be"};
  std::vector<Cue> out;
  for (size_t i = low.find("answer"); i != std::string_view::npos; i = low.find("answer", i + 1)) {
    if (!word_at(low, i, "answer")) continue;
    size_t j = skip(low, i + 6, " \t*_`");
    size_t matched = 0;
    for (auto c : kConnectors)
      if (low.substr(j, c.size()) == c && (!is_alpha(c[0]) || word_at(low, j, c))) {
        matched = c.size();
        break;
      }
    if (matched == 0) continue;
    j = skip(low, j + matched, " \t\r\n*_`:");
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
      if (s.substr(j, sym.size()) == sym) {
        j += sym.size();
        return true;
      }
    return false;
  };
  bool signed_first = take_sign();
  if (take_currency() && !signed_first) take_sign();

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
                  s.substr(i, 2) == "\xC2\xA3";
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

// The option letter at i (after "answer is", "go with", ...) or -1. Lowercase letters are
// accepted here; "a" and "i" only before punctuation or the end (they are English words).
int letter_at(std::string_view s, std::string_view low, size_t i, size_t n) {
  i = skip(s, i, " \t\r\n*_`\"'");
  for (std::string_view w : {"option", "choice", "letter"})
    if (word_at(low, i, w)) {
      i = skip(s, i + w.size(), " \t*_`:");
      break;
    }
  for (bool more = true; more;) {
    more = false;
    for (std::string_view wrap : {"\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"})
      if (s.substr(i, wrap.size()) == wrap) i += wrap.size(), more = true;
    size_t k = skip(s, i, "([{*_`$ ");
    if (k != i) i = k, more = true;
  }
  if (i >= s.size() || !is_alpha(s[i])) return -1;
  char c = s[i];
  int idx = (c >= 'a' ? c - 'a' : c - 'A');
  if (idx < 0 || static_cast<size_t>(idx) >= n) return -1;
  if (i + 1 == s.size()) return idx;
  char d = s[i + 1];
  if (std::strchr(")]}.,:;!?*_`\"'$\r\n", d) != nullptr) return idx;
  if ((d == ' ' || d == '\t') && c != 'a' && c != 'i') return idx;
  return -1;
}

// The word before i is one that makes "option"/"choice" a statement: "correct option".
bool qualified(std::string_view low, size_t i) {
  size_t e = i;
  while (e > 0 && std::strchr(" \t*_`", low[e - 1]) != nullptr) --e;
  size_t b = e;
  while (b > 0 && is_alpha(low[b - 1])) --b;
  std::string_view prev = low.substr(b, e - b);
  for (std::string_view q : {"correct", "right", "best", "final", "my", "chosen"})
    if (prev == q) return true;
  return false;
}

// Rule 1: the last explicit statement.
int last_statement_letter(std::string_view s, size_t n) {
  std::string low = to_lower(s);
  size_t best_pos = 0;
  int best = -1;
  auto offer = [&](size_t pos, int idx) {
    if (idx >= 0 && (best < 0 || pos >= best_pos)) best_pos = pos, best = idx;
  };
  for (const auto& c : answer_cues(low)) offer(c.start, letter_at(s, low, c.after, n));
  // "the correct option is C", "best choice: C" (a qualifier is required: "Option B: London"
  // in a walk through the options is not an answer)
  for (std::string_view w : {"option", "choice"})
    for (size_t i = low.find(w); i != std::string::npos; i = low.find(w, i + 1)) {
      if (!word_at(low, i, w) || !qualified(low, i)) continue;
      size_t j = skip(low, i + w.size(), " \t*_`");
      if (word_at(low, j, "is")) j += 2;
      else if (low.substr(j, 1) == ":") j += 1;
      else continue;
      if (word_at(low, skip(low, j, " \t*_`:"), "not")) continue;
      offer(i, letter_at(s, low, j, n));
    }
  // "I'll go with C", "I choose B"
  for (std::string_view w : {"go with", "going with", "choose", "pick", "select", "opt for"})
    for (size_t i = low.find(w); i != std::string::npos; i = low.find(w, i + 1))
      if (word_at(low, i, w)) offer(i, letter_at(s, low, i + w.size(), n));
  // \boxed{C}
  for (size_t i = s.find("\\boxed{"); i != std::string::npos; i = s.find("\\boxed{", i + 1))
    offer(i, letter_at(s, low, i + 7, n));
  // "C is correct", "(B) is the correct answer"
  for (std::string_view w : {" is correct", " is the correct", " is the right", " is right", " is the answer"})
    for (size_t i = low.find(w); i != std::string::npos; i = low.find(w, i + 1)) {
      size_t k = i;
      while (k > 0 && std::strchr(")]*_`", s[k - 1]) != nullptr) --k;
      if (k == 0) continue;
      char c = s[k - 1];
      if (c < 'A' || c > 'Z' || static_cast<size_t>(c - 'A') >= n) continue;
      if (k >= 2 && is_alnum(s[k - 2])) continue;
      offer(k - 1, c - 'A');
    }
  return best;
}

// Rule 2: the response starts with the letter and a delimiter.
int leading_letter(std::string_view t, size_t n) {
  size_t i = skip(t, 0, "*_#` \t");
  char open = 0;
  if (i < t.size() && (t[i] == '(' || t[i] == '[')) open = t[i++];
  if (i >= t.size() || t[i] < 'A' || t[i] > 'Z' || static_cast<size_t>(t[i] - 'A') >= n) return -1;
  int idx = t[i] - 'A';
  size_t k = i + 1;
  if (open) return k < t.size() && t[k] == (open == '(' ? ')' : ']') ? idx : -1;
  if (k == t.size() || std::strchr(")].:,;*_}\r\n", t[k]) != nullptr) return idx;
  return -1;
}

// Rule 3: the last lone letter in bold or brackets, or alone on a line.
int last_lone_letter(std::string_view t, size_t n) {
  size_t best_pos = 0;
  int best = -1;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c < 'A' || c > 'Z' || static_cast<size_t>(c - 'A') >= n) continue;
    bool bold = i >= 2 && t.substr(i - 2, 2) == "**" && t.substr(i + 1, 2) == "**";
    bool bracket = i >= 1 && i + 1 < t.size() &&
                   ((t[i - 1] == '(' && t[i + 1] == ')') || (t[i - 1] == '[' && t[i + 1] == ']'));
    if (bold || bracket) best_pos = i, best = c - 'A';
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

// Rule 4: the text of exactly one choice.
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
  return unique([&](const std::string& c) { return padded.find(" " + c + " ") != std::string::npos; });
}

std::string choice_letter(std::string_view response, size_t n, const std::vector<std::string>* texts) {
  n = std::min<size_t>(n, 26);
  std::string t = strip_reasoning(response);
  int idx = last_statement_letter(t, n);
  if (idx < 0) idx = leading_letter(t, n);
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

// \frac{a}{b}, \dfrac{a}{b}, \tfrac{a}{b}, optionally negated, as the whole of `c`.
std::optional<double> latex_fraction(std::string_view c) {
  c = trim(c);
  bool neg = !c.empty() && c[0] == '-';
  if (neg) c.remove_prefix(1);
  for (std::string_view f : {"\\frac", "\\dfrac", "\\tfrac"}) {
    if (c.substr(0, f.size()) != f || c.size() <= f.size() || c[f.size()] != '{') continue;
    auto a = braced(c, f.size());
    if (!a) return std::nullopt;
    size_t b_open = f.size() + a->size() + 2;
    if (b_open >= c.size() || c[b_open] != '{') return std::nullopt;
    auto b = braced(c, b_open);
    if (!b || b_open + b->size() + 2 != c.size()) return std::nullopt;
    auto na = parse_number_at(trim(*a), 0), nb = parse_number_at(trim(*b), 0);
    if (!na || !nb || nb->value == 0) return std::nullopt;
    return (neg ? -1 : 1) * na->value / nb->value;
  }
  return std::nullopt;
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
      if (auto f = latex_fraction(*content)) {
        *out = *f;
        if (text != nullptr) *text = std::string(trim(*content));
        return true;
      }
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
