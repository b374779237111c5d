#include "ipw/backends/ollama_chat.h"

#include "ipw/backends/chat_util.h"
#include "ipw/core/error.h"
#include "ipw/core/strings.h"

namespace ipw::backends {
std::string ollama_chat_body(const std::string& model, const ChatRequest& req) {
  Json b;
  b["model"] = model;
  Json msgs = Json::array();
  for (const auto& m : req.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  b["messages"] = std::move(msgs);
  b["stream"] = true;
  Json o = {{"temperature", req.params.temperature}, {"seed", req.params.seed}};
  if (req.params.max_tokens > 0) o["num_predict"] = req.params.max_tokens;
  b["options"] = std::move(o);
  return b.dump();
}

OllamaChatDecoder::OllamaChatDecoder(std::string url, size_t prompt_chars)
    : url_(std::move(url)), prompt_chars_(prompt_chars) {}

void OllamaChatDecoder::on_start(long, const std::string& content_type) {
  if (content_type.find("text/html") != std::string::npos)
    fail(Errc::http,
         "{} answered a web page (Content-Type: {}), not an Ollama chat stream; point --base-url "
         "at the Ollama server (e.g. http://127.0.0.1:11434)",
         url_, content_type);
}

void OllamaChatDecoder::on_data(std::string_view bytes, double t) {
  bytes_ += bytes.size();
  batch_.clear();
  lines_.feed(bytes, batch_);
  for (const auto& l : batch_) on_line(l, t);
}

void OllamaChatDecoder::on_line(const std::string& line, double t) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail(Errc::http, "malformed line in the stream from {}: '{}' is not a JSON object; check the server's log",
         url_, quote_start(line));
  if (const Json* e = json_member(j, "error"))
    fail(Errc::http, "{} reported an error: {}", url_,
         quote_start(e->is_string() ? e->get<std::string>() : e->dump(), 300));
  if (const Json* m = json_member(j, "message")) {
    std::string_view thinking = json_text(json_member(*m, "thinking"));
    std::string_view content = json_text(json_member(*m, "content"));
    if (!thinking.empty()) {
      c_.reasoning.append(thinking);
      if (c_.first_reasoning_s < 0) c_.first_reasoning_s = t;
      ++thinking_chunks_;
    }
    if (!content.empty()) {
      c_.text.append(content);
      if (c_.first_token_s < 0) c_.first_token_s = t;
    }
    if (!thinking.empty() || !content.empty()) {
      c_.token_times_s.push_back(t);
      ++chunks_;
    }
  }
  if (const Json* d = json_member(j, "done"); d && d->is_boolean() && d->get<bool>()) {
    done_ = true;
    c_.finish_reason = json_text(json_member(j, "done_reason"));
    auto count = [&](const char* k) {
      const Json* v = json_member(j, k);
      return v && v->is_number_integer() ? v->get<int64_t>() : -1;
    };
    c_.prompt_tokens = count("prompt_eval_count");
    c_.completion_tokens = count("eval_count");
    if (int64_t ns = count("prompt_eval_duration"); ns >= 0) c_.server_prompt_eval_s = ns * 1e-9;
    if (int64_t ns = count("eval_duration"); ns >= 0) c_.server_eval_s = ns * 1e-9;
  }
}

Completion OllamaChatDecoder::finish(double t) {
  batch_.clear();
  lines_.finish(batch_);
  for (const auto& l : batch_) on_line(l, t);
  if (!done_)
    fail(Errc::http,
         "stream truncated: {} ended its answer after {} bytes without a \"done\": true line; the "
         "server may have crashed (check `ollama serve`'s log)",
         url_, bytes_);
  // Ollama streams one token per line, so the thinking lines count the reasoning tokens.
  c_.reasoning_tokens = thinking_chunks_;
  if (c_.completion_tokens < 0) {
    c_.tokens_estimated = true;
    c_.completion_tokens = chunks_;
  }
  if (c_.prompt_tokens < 0) {
    // Ollama omits prompt_eval_count when the whole prompt came from its cache.
    c_.tokens_estimated = true;
    c_.prompt_tokens = estimate_tokens(prompt_chars_);
  }
  c_.end_s = t;
  return std::move(c_);
}

namespace {

class OllamaChatBackend : public Backend {
 public:
  OllamaChatBackend(std::string base_url, std::string model, std::string api_key, BackendOptions opt)
      : url_(std::move(base_url) + "/api/chat"),
        shown_url_(strip_credentials(url_)),
        model_(std::move(model)),
        key_(std::move(api_key)),
        opt_(std::move(opt)) {}

  Completion complete(const ChatRequest& req, const CancelFlag* cancel) override {
    HttpRequest hr{url_, ollama_chat_body(model_, req), {"Accept: application/x-ndjson"}, key_};
    OllamaChatDecoder dec(shown_url_, prompt_chars(req));
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
  std::string url_, shown_url_, model_, key_;
  BackendOptions opt_;
};

}  // namespace

std::unique_ptr<Backend> make_ollama_chat_backend(std::string base_url, std::string model,
                                                  std::string api_key, BackendOptions opt) {
  return std::make_unique<OllamaChatBackend>(std::move(base_url), std::move(model),
                                             std::move(api_key), std::move(opt));
}

}  // namespace ipw::backends
