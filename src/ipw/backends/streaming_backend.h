// The Backend both wire protocols share: POST a request body built from the ChatRequest to one
// URL, stream the response through a protocol Decoder (a ResponseSink with finish(t) returning
// the Completion) and stamp it with the transfer's start time and attempt count. Errors are
// redacted of the API key before they leave.
#pragma once

#include <string>
#include <utility>

#include "ipw/backends/backend.h"
#include "ipw/backends/chat_util.h"
#include "ipw/backends/http.h"
#include "ipw/core/error.h"
#include "ipw/core/strings.h"

namespace ipw::backends {

template <typename Decoder, std::string (*BuildBody)(const std::string&, const ChatRequest&)>
class StreamingChatBackend : public Backend {
 public:
  StreamingChatBackend(std::string url, std::string accept, std::string model, std::string api_key,
                       BackendOptions opt)
      : url_(std::move(url)),
        shown_url_(strip_credentials(url_)),
        accept_(std::move(accept)),
        model_(std::move(model)),
        key_(std::move(api_key)),
        opt_(std::move(opt)) {}

  Completion complete(const ChatRequest& req, const CancelFlag* cancel) override {
    HttpRequest hr{url_, BuildBody(model_, req), {accept_}, key_};
    Decoder dec(shown_url_, prompt_chars(req));
    HttpOutcome out = post_streaming(hr, opt_, dec, cancel);
    Completion c;
    try {
      c = dec.finish(out.end_s);
    } catch (const Error& e) {
      throw Error(e.code(), redact(e.what(), {key_}));
    }
    c.start_s = out.start_s;
    c.attempts = out.attempts;
    return c;
  }
  std::string endpoint() const override { return shown_url_; }
  std::string model() const override { return model_; }

 private:
  std::string url_, shown_url_, accept_, model_, key_;
  BackendOptions opt_;
};

}  // namespace ipw::backends
