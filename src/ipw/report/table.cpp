#include "ipw/report/table.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ipw/core/error.h"

namespace ipw::report {
namespace {

bool is_number(const Cell& c) {
  return std::holds_alternative<double>(c.value) || std::holds_alternative<long long>(c.value);
}
bool is_missing(const Cell& c) { return std::holds_alternative<std::monostate>(c.value); }

// Text for table and markdown: numbers rounded to the cell's precision, the suffix appended.
std::string display(const Cell& c) {
  if (is_missing(c)) return "-";
  std::string out;
  if (const auto* s = std::get_if<std::string>(&c.value)) out = *s;
  else if (const auto* d = std::get_if<double>(&c.value)) out = fmt::format("{:.{}f}", *d, std::max(0, c.precision));
  else out = fmt::format("{}", std::get<long long>(c.value));
  return out + c.suffix;
}

// Line breaks and tabs would break a row apart; in a one-line cell they become spaces.
std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  return s;
}

// Width on a terminal: UTF-8 code points (continuation bytes take no column).
size_t width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

std::string pad(const std::string& s, size_t w, bool right) {
  std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right ? fill + s : s + fill;
}

void rtrim(std::string& s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

void check_shape(const Table& t) {
  if (!t.keys.empty() && t.keys.size() != t.columns.size())
    fail(Errc::internal, "table has {} columns but {} keys", t.columns.size(), t.keys.size());
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows[i].size() != t.columns.size())
      fail(Errc::internal, "table row {} has {} cells for {} columns", i + 1, t.rows[i].size(), t.columns.size());
}

const std::vector<std::string>& keys_of(const Table& t) { return t.keys.empty() ? t.columns : t.keys; }

// A column is right-aligned when it holds numbers and no text.
std::vector<bool> numeric_columns(const Table& t) {
  std::vector<bool> out(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) {
    bool any_number = false, any_text = false;
    for (const auto& row : t.rows) {
      any_number |= is_number(row[c]);
      any_text |= std::holds_alternative<std::string>(row[c].value);
    }
    out[c] = any_number && !any_text;
  }
  return out;
}

// Cells as shown, the header first; `escape` is applied to every header and cell. In a numeric
// column every value is padded to the widest suffix there, so the digits stay aligned when
// only some values carry a mark ("1.23~" above "4.56 ").
template <typename Escape>
std::vector<std::vector<std::string>> shown(const Table& t, const std::vector<bool>& numeric, Escape escape) {
  std::vector<size_t> suffix_w(t.columns.size(), 0);
  for (const auto& row : t.rows)
    for (size_t c = 0; c < row.size(); ++c)
      if (numeric[c] && is_number(row[c])) suffix_w[c] = std::max(suffix_w[c], width(row[c].suffix));
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> header;
  for (const auto& col : t.columns) header.push_back(escape(one_line(col)));
  out.push_back(std::move(header));
  for (const auto& row : t.rows) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string text = display(row[c]);
      if (numeric[c]) {
        size_t own = is_number(row[c]) ? width(row[c].suffix) : 0;
        text.append(suffix_w[c] - std::min(own, suffix_w[c]), ' ');
      }
      cells.push_back(escape(one_line(text)));
    }
    out.push_back(std::move(cells));
  }
  return out;
}

std::vector<size_t> widths(const std::vector<std::vector<std::string>>& cells, size_t min_width) {
  std::vector<size_t> w(cells.front().size(), min_width);
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) w[c] = std::max(w[c], width(row[c]));
  return w;
}

std::string render_table(const Table& t) {
  auto right = numeric_columns(t);
  auto cells = shown(t, right, [](std::string s) { return s; });
  auto w = widths(cells, 1);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t c = 0; c < row.size(); ++c) l += (c ? "  " : "") + pad(row[c], w[c], right[c]);
    rtrim(l);
    out += l + "\n";
  };
  line(cells[0]);
  std::vector<std::string> rule;
  for (size_t c = 0; c < w.size(); ++c) rule.push_back(std::string(w[c], '-'));
  line(rule);
  for (size_t r = 1; r < cells.size(); ++r) line(cells[r]);
  if (!t.footnotes.empty()) {
    out += "\n";
    for (const auto& f : t.footnotes) out += f + "\n";
  }
  return out;
}

std::string md_escape(std::string s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

std::string render_md(const Table& t) {
  auto right = numeric_columns(t);
  auto cells = shown(t, right, md_escape);
  auto w = widths(cells, 3);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l = "|";
    for (size_t c = 0; c < row.size(); ++c) {
      l += ' ';
      l += pad(row[c], w[c], right[c]);
      l += " |";
    }
    out += l;
    out += '\n';
  };
  line(cells[0]);
  std::string rule = "|";
  for (size_t c = 0; c < w.size(); ++c) {
    rule += ' ';
    rule.append(right[c] ? w[c] - 1 : w[c], '-');
    if (right[c]) rule += ':';
    rule += " |";
  }
  out += rule + "\n";
  for (size_t r = 1; r < cells.size(); ++r) line(cells[r]);
  // Each footnote is its own paragraph; a leading list or heading marker is escaped so that
  // "* estimated" stays a line of text rather than a bullet.
  for (const auto& f : t.footnotes) {
    bool marker = !f.empty() && std::string_view("*-+#>").find(f[0]) != std::string_view::npos;
    out += "\n" + (marker ? "\\" + f : f) + "\n";
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// Numbers at full round-trip precision; the display precision and suffix are for people.
std::string csv_value(const Cell& c) {
  if (const auto* s = std::get_if<std::string>(&c.value)) return csv_field(*s);
  if (const auto* d = std::get_if<double>(&c.value)) return fmt::format("{}", *d);
  if (const auto* i = std::get_if<long long>(&c.value)) return fmt::format("{}", *i);
  return "";
}

std::string render_csv(const Table& t) {
  std::string out;
  auto line = [&](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
    out += "\n";
  };
  std::vector<std::string> header;
  for (const auto& k : keys_of(t)) header.push_back(csv_field(k));
  line(header);
  for (const auto& row : t.rows) {
    std::vector<std::string> fields;
    for (const auto& cell : row) fields.push_back(csv_value(cell));
    line(fields);
  }
  return out;
}

std::string render_json(const Table& t) {
  const auto& keys = keys_of(t);
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& row : t.rows) {
    nlohmann::ordered_json obj = nlohmann::ordered_json::object();
    for (size_t c = 0; c < row.size(); ++c) {
      const Cell& cell = row[c];
      if (const auto* s = std::get_if<std::string>(&cell.value)) obj[keys[c]] = *s;
      else if (const auto* d = std::get_if<double>(&cell.value)) obj[keys[c]] = *d;
      else if (const auto* i = std::get_if<long long>(&cell.value)) obj[keys[c]] = *i;
      else obj[keys[c]] = nullptr;
    }
    arr.push_back(std::move(obj));
  }
  return arr.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

Cell Cell::num(double v, int precision, std::string suffix) {
  if (!std::isfinite(v)) return missing();
  Cell c;
  c.value = v;
  c.precision = precision;
  c.suffix = std::move(suffix);
  return c;
}

Format parse_format(const std::string& s) {
  if (s == "table") return Format::table;
  if (s == "md") return Format::md;
  if (s == "csv") return Format::csv;
  if (s == "json") return Format::json;
  fail(Errc::usage, "unknown output format '{}': use one of table, md, csv, json", s);
}

std::string render(const Table& t, Format f) {
  check_shape(t);
  switch (f) {
    case Format::table: return render_table(t);
    case Format::md: return render_md(t);
    case Format::csv: return render_csv(t);
    case Format::json: return render_json(t);
  }
  fail(Errc::internal, "unknown table format {}", static_cast<int>(f));
}

}  // namespace ipw::report
