#include "ipw/backends/sse_chat_decoder.h"

#include "ipw/core/error.h"

namespace ipw::backends {

SseChatDecoder::SseChatDecoder(std::string url, size_t prompt_chars, Names names)
    : url_(std::move(url)), prompt_chars_(prompt_chars), names_(names) {}

void SseChatDecoder::on_start(long, const std::string& content_type) {
  reject_web_page(content_type, url_, names_.stream, names_.api_root);
}

void SseChatDecoder::on_data(std::string_view bytes, double t) {
  bytes_ += bytes.size();
  events_.clear();
  sse_.feed(bytes, events_);
  decode(t);
}

void SseChatDecoder::decode(double t) {
  for (const auto& e : events_) on_event(e, t);
}

Completion SseChatDecoder::finish(double t) {
  events_.clear();
  sse_.finish(events_);
  decode(t);
  if (!ended_)
    fail(Errc::http,
         "stream truncated: {} ended its answer after {} bytes without {}; the connection may "
         "have been cut (check network proxies) or the API failed",
         url_, bytes_, names_.end);
  tally_.fill_missing_usage(c_, prompt_chars_);
  c_.end_s = t;
  return std::move(c_);
}

}  // namespace ipw::backends
