#include "ipw/backends/ollama_chat.h"

#include "ipw/backends/chat_util.h"
#include "ipw/backends/streaming_backend.h"
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

std::unique_ptr<Backend> make_ollama_chat_backend(std::string base_url, std::string model,
                                                  std::string api_key, BackendOptions opt) {
  using Impl = StreamingChatBackend<OllamaChatDecoder, ollama_chat_body>;
  return std::make_unique<Impl>(std::move(base_url) + "/api/chat", "Accept: application/x-ndjson", std::move(model),
                                std::move(api_key), std::move(opt));
}

}  // namespace ipw::backends
