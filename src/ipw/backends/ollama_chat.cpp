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
  reject_web_page(content_type, url_, "an Ollama chat stream", "the Ollama server (e.g. http://127.0.0.1:11434)");
}

void OllamaChatDecoder::on_data(std::string_view bytes, double t) {
  bytes_ += bytes.size();
  batch_.clear();
  lines_.feed(bytes, batch_);
  for (const auto& l : batch_) on_line(l, t);
}

void OllamaChatDecoder::on_line(const std::string& line, double t) {
  Json j = parse_stream_object(line, url_, "line");
  if (const Json* e = json_member(j, "error"))
    fail(Errc::http, "{} reported an error: {}", url_, error_object_message(*e));
  if (const Json* m = json_member(j, "message"))
    tally_.add(c_, json_text(json_member(*m, "thinking")), json_text(json_member(*m, "content")), t);
  if (const Json* d = json_member(j, "done"); d && d->is_boolean() && d->get<bool>()) {
    done_ = true;
    c_.finish_reason = json_text(json_member(j, "done_reason"));
    auto count = [&](const char* k) { return json_int(json_member(j, k)); };
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
  // Ollama omits prompt_eval_count when the whole prompt came from its cache.
  c_.reasoning_tokens = tally_.reasoning_chunks;
  tally_.fill_missing_usage(c_, prompt_chars_);
  c_.end_s = t;
  return std::move(c_);
}

std::unique_ptr<Backend> make_ollama_chat_backend(std::string base_url, std::string model,
                                                  std::string api_key, BackendOptions opt) {
  using Impl = StreamingChatBackend<OllamaChatDecoder, ollama_chat_body>;
  HttpRequest r{std::move(base_url) + "/api/chat", {}, {"Accept: application/x-ndjson"}, std::move(api_key), {}};
  return std::make_unique<Impl>(std::move(r), std::move(model), std::move(opt));
}

}  // namespace ipw::backends
