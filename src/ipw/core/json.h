// JSON: nlohmann-json, the conventional C++ JSON library (Debian's nlohmann-json3-dev). Helpers
// here read typed fields with errors that name the field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ipw {

using Json = nlohmann::json;

// Parses text; on failure throws Error(input) "<where>: invalid JSON: <reason>".
Json parse_json(std::string_view text, const std::string& where);

}  // namespace ipw
