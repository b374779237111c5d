// Tables for every command that prints results: one Table value, rendered as an aligned terminal
// table, GitHub markdown, CSV (RFC 4180 quoting) or JSON (an array of objects; numbers stay
// numbers, missing values are null). Columns carry a unit in their header where they have one.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ipw::report {

// A cell: text, a number shown with `precision` decimals, or missing (shown "-", JSON null).
struct Cell {
  std::variant<std::monostate, std::string, double, long long> value;
  int precision = 2;
  std::string suffix;  // appended in table/md only (e.g. "~" marking an estimate)
  static Cell text(std::string s) { Cell c; c.value = std::move(s); return c; }
  static Cell num(double v, int precision = 2, std::string suffix = {});  // NaN/inf -> missing
  static Cell integer(long long v) { Cell c; c.value = v; return c; }
  static Cell missing() { return Cell{}; }
};

struct Table {
  std::vector<std::string> columns;  // display names, e.g. "J/query"
  std::vector<std::string> keys;     // machine names for CSV header and JSON, e.g. "energy_j_per_query"
  std::vector<std::vector<Cell>> rows;
  std::vector<std::string> footnotes;  // printed under table/md output only
};

enum class Format { table, md, csv, json };
// Throws Error(usage) for anything but table|md|csv|json.
Format parse_format(const std::string& s);
std::string render(const Table& t, Format f);

}  // namespace ipw::report
