// Incremental parser for Server-Sent Events ("text/event-stream"), the framing of OpenAI-style
// streaming APIs. Feed it byte chunks of any size, split anywhere; it appends one SseEvent per
// event, an event being ended by a blank line. Lines end in "\n", "\r\n" or a lone "\r"; lines
// starting with ':' are comments; a field without ':' has an empty value; one space after the
// ':' is dropped; several data lines join with '\n'; unknown fields are ignored. An event without
// any data line is not emitted. A line longer than max_line bytes throws Error(http).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ipw::backends {

struct SseEvent {
  std::string event;  // the "event:" field ("" when absent)
  std::string data;   // data lines joined with '\n'
  std::string id;     // the "id:" field ("" when absent)
};

class SseParser {
 public:
  explicit SseParser(size_t max_line = size_t{16} << 20) : max_line_(max_line) {}

  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  // End of the stream. Servers often end with "data: [DONE]\n" and no blank line, so an event
  // still being built is emitted if it has data.
  void finish(std::vector<SseEvent>& out);

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);

  size_t max_line_;
  std::string partial_;     // bytes of a line not yet terminated
  bool skip_lf_ = false;    // the previous chunk ended in '\r': a leading '\n' belongs to it
  SseEvent cur_;
  bool has_data_ = false;
};

}  // namespace ipw::backends
