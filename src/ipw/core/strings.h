// Small string helpers used across modules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ipw {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
// Reads a whole file; throws Error(io) naming the path on failure.
std::string read_file(const std::string& path);
// Lowercase hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);
// Replaces every occurrence of each secret (non-empty) in text by "***".
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace ipw
