// Small helpers shared by the chat decoders: lenient JSON field access (a missing field and a
// JSON null read the same), quoting server text in messages, and ipw's token estimates, used
// only when a server does not report usage (and then marked tokens_estimated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipw/backends/backend.h"
#include "ipw/core/json.h"

namespace ipw::backends {

// About four characters per token for English text with common BPE vocabularies.
inline int64_t estimate_tokens(size_t chars) { return static_cast<int64_t>((chars + 3) / 4); }

inline size_t prompt_chars(const ChatRequest& req) {
  size_t n = 0;
  for (const auto& m : req.messages) n += m.content.size();
  return n;
}

// Member `key` of object o; nullptr when o is not an object or the member is absent or null.
inline const Json* json_member(const Json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

// The string p holds; empty when p is null or not a string.
inline std::string_view json_text(const Json* p) {
  if (!p || !p->is_string()) return {};
  return p->get_ref<const std::string&>();
}

// The first n characters of s, with "..." when cut: server text quoted in messages.
inline std::string quote_start(std::string_view s, size_t n = 100) {
  return std::string(s.substr(0, n)) + (s.size() > n ? "..." : "");
}

}  // namespace ipw::backends
