#include "ipw/backends/openai_chat.h"

#include "ipw/backends/chat_util.h"
#include "ipw/backends/streaming_backend.h"
#include "ipw/core/error.h"
#include "ipw/core/json.h"
#include "ipw/core/strings.h"

namespace ipw::backends {
namespace {

int64_t int_of(const Json* p, int64_t fallback) {
  return p && p->is_number_integer() ? p->get<int64_t>() : fallback;
}

bool is_reasoning_model(const std::string& model) {
  std::string m = to_lower(model);
  for (const char* p : {"o1", "o3", "o4", "gpt-5"})
    if (starts_with(m, p)) return true;
  return false;
}

}  // namespace

std::string openai_chat_body(const std::string& model, const ChatRequest& req) {
  Json b;
  b["model"] = model;
  Json msgs = Json::array();
  for (const auto& m : req.messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  b["messages"] = std::move(msgs);
  b["stream"] = true;
  b["stream_options"] = {{"include_usage", true}};
  bool reasoning = is_reasoning_model(model);
  if (!reasoning) b["temperature"] = req.params.temperature;
  b["seed"] = req.params.seed;
  if (req.params.max_tokens > 0)
    b[reasoning ? "max_completion_tokens" : "max_tokens"] = req.params.max_tokens;
  return b.dump();
}

OpenAIChatDecoder::OpenAIChatDecoder(std::string url, size_t prompt_chars)
    : url_(std::move(url)), prompt_chars_(prompt_chars) {}

void OpenAIChatDecoder::on_start(long, const std::string& content_type) {
  if (content_type.find("text/html") != std::string::npos)
    fail(Errc::http,
         "{} answered a web page (Content-Type: {}), not a chat-completions stream; point "
         "--base-url at the API root (e.g. http://127.0.0.1:8000/v1)",
         url_, content_type);
  whole_json_ = content_type.find("application/json") != std::string::npos;
}

void OpenAIChatDecoder::on_data(std::string_view bytes, double t) {
  if (first_byte_s_ < 0) first_byte_s_ = t;
  bytes_ += bytes.size();
  if (whole_json_) {
    body_.append(bytes);
    return;
  }
  events_.clear();
  sse_.feed(bytes, events_);
  for (const auto& e : events_) on_event(e.data, t);
}

void OpenAIChatDecoder::on_event(const std::string& data, double t) {
  if (trim(data) == "[DONE]") {
    done_ = true;
    return;
  }
  Json j = Json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail(Errc::http, "malformed chunk in the stream from {}: '{}' is not a JSON object; check the server's log",
         url_, quote_start(data));
  on_object(j, t, true);
}

void OpenAIChatDecoder::on_object(const Json& j, double t, bool streamed) {
  if (const Json* e = json_member(j, "error")) {
    std::string msg = e->is_string() ? e->get<std::string>()
                      : json_member(*e, "message") ? std::string(json_text(json_member(*e, "message")))
                                              : e->dump();
    fail(Errc::http, "{} reported an error in its answer: {}", url_, quote_start(msg, 300));
  }
  const Json* choices = json_member(j, "choices");
  if (choices && choices->is_array() && !choices->empty()) {
    const Json& c0 = (*choices)[0];
    const Json* d = json_member(c0, streamed ? "delta" : "message");
    if (d) {
      std::string_view reasoning = json_text(json_member(*d, "reasoning_content"));
      if (reasoning.empty()) reasoning = json_text(json_member(*d, "reasoning"));
      std::string_view content = json_text(json_member(*d, "content"));
      if (!reasoning.empty()) {
        c_.reasoning.append(reasoning);
        if (c_.first_reasoning_s < 0) c_.first_reasoning_s = t;
        ++reasoning_chunks_;
      }
      if (!content.empty()) {
        c_.text.append(content);
        if (c_.first_token_s < 0) c_.first_token_s = t;
      }
      if (!reasoning.empty() || !content.empty()) {
        c_.token_times_s.push_back(t);
        ++chunks_;
      }
    }
    if (std::string_view fr = json_text(json_member(c0, "finish_reason")); !fr.empty())
      c_.finish_reason.assign(fr);
  }
  if (const Json* u = json_member(j, "usage"); u && json_member(*u, "completion_tokens")) {
    usage_ = true;
    c_.completion_tokens = int_of(json_member(*u, "completion_tokens"), -1);
    c_.prompt_tokens = int_of(json_member(*u, "prompt_tokens"), -1);
    if (const Json* det = json_member(*u, "completion_tokens_details"))
      c_.reasoning_tokens = int_of(json_member(*det, "reasoning_tokens"), 0);
  }
}

Completion OpenAIChatDecoder::finish(double t) {
  if (whole_json_) {
    Json j = Json::parse(body_, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(Errc::http, "{} answered invalid JSON: '{}'; check the server's log", url_, quote_start(body_));
    on_object(j, first_byte_s_, false);
    if (json_member(j, "choices")) done_ = true;
  } else {
    events_.clear();
    sse_.finish(events_);
    for (const auto& e : events_) on_event(e.data, t);
  }
  if (!done_ && c_.finish_reason.empty())
    fail(Errc::http,
         "stream truncated: {} ended its answer after {} bytes without [DONE] or a finish_reason; "
         "the server may have crashed or a proxy cut the stream (check the server's log)",
         url_, bytes_);
  if (!usage_) {
    c_.tokens_estimated = true;
    c_.prompt_tokens = estimate_tokens(prompt_chars_);
    if (whole_json_) {
      c_.completion_tokens = estimate_tokens(c_.text.size() + c_.reasoning.size());
      c_.reasoning_tokens = estimate_tokens(c_.reasoning.size());
    } else {
      c_.completion_tokens = chunks_;
      c_.reasoning_tokens = reasoning_chunks_;
    }
  }
  c_.end_s = t;
  return std::move(c_);
}

std::unique_ptr<Backend> make_openai_chat_backend(std::string base_url, std::string model,
                                                  std::string api_key, BackendOptions opt) {
  using Impl = StreamingChatBackend<OpenAIChatDecoder, openai_chat_body>;
  return std::make_unique<Impl>(std::move(base_url) + "/chat/completions", "Accept: text/event-stream", std::move(model),
                                std::move(api_key), std::move(opt));
}

}  // namespace ipw::backends
