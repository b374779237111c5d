#include "ipw/backends/ndjson.h"

#include "ipw/core/error.h"
#include "ipw/core/strings.h"

namespace ipw::backends {

void NdjsonSplitter::feed(std::string_view in, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < in.size()) {
    size_t e = in.find('\n', i);
    if (e == std::string_view::npos) {
      partial_.append(in.substr(i));
      if (partial_.size() > max_line_)
        fail(Errc::http, "NDJSON line longer than {} bytes: the server is not sending NDJSON",
             max_line_);
      return;
    }
    if (partial_.empty()) {
      emit(in.substr(i, e - i), out);
    } else {
      partial_.append(in.substr(i, e - i));
      emit(partial_, out);
      partial_.clear();
    }
    i = e + 1;
  }
}

void NdjsonSplitter::finish(std::vector<std::string>& out) {
  if (partial_.empty()) return;
  std::string last = std::move(partial_);
  partial_.clear();
  emit(last, out);
}

void NdjsonSplitter::emit(std::string_view l, std::vector<std::string>& out) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (trim(l).empty()) return;
  out.emplace_back(l);
}

}  // namespace ipw::backends
