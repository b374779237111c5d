#include "ipw/core/json.h"

#include "ipw/core/error.h"

namespace ipw {

Json parse_json(std::string_view text, const std::string& where) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    fail(Errc::input, "{}: invalid JSON: {}", where, e.what());
  }
}

}  // namespace ipw
