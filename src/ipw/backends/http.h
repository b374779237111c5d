// HTTP transport shared by the backends: one POST whose answer is streamed into a ResponseSink,
// with the retry policy of the Backend contract. Each thread reuses its own libcurl handles, so
// consecutive requests from a worker thread keep their connection alive.
//
// A request is retried (exponential backoff with jitter, capped at backoff_max_s; a server's
// Retry-After wins) on HTTP 408, 429 and 5xx and on connection failures and timeouts that happen
// before any byte of a successful answer arrived. Once a 2xx body has started, nothing is retried:
// a broken or stalled stream is an error, never silently merged with a second attempt. Other 4xx
// fail at once with the server's message. The idle timeout (no byte from the server for
// idle_timeout_s, before or during the answer) and the cancel flag are checked at least every
// 50 ms; cancel also interrupts backoff sleeps. total_timeout_s bounds the whole call. Every error names the URL without credentials, says what to do, and has the API
// key redacted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipw/backends/backend.h"

namespace ipw::backends {

struct HttpRequest {
  std::string url;                   // may carry user:password@ (never shown in messages)
  std::string body;                  // sent as application/json
  std::vector<std::string> headers;  // extra "Name: value" lines
  std::string api_key;               // non-empty: sent as below, and redacted from every error
  std::string api_key_header;        // empty: "Authorization: Bearer <key>"; else "<name>: <key>"
};

// Receives a successful (2xx) answer. Either function may throw ipw::Error, which stops the
// transfer and propagates from post_streaming() without a retry.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Once, before any on_data, when a 2xx answer begins (also for an empty body).
  virtual void on_start(long status, const std::string& content_type) = 0;
  // Bytes of the body. t (ipw::now_s()) is when they arrived: when the transfer loop woke up
  // to read them, so it does not include the time spent decoding earlier bytes of the batch.
  virtual void on_data(std::string_view bytes, double t) = 0;
};

struct HttpOutcome {
  double start_s = 0;  // when the attempt that succeeded was sent (ipw::now_s())
  double end_s = 0;    // when its last byte arrived
  int attempts = 1;
  long status = 0;
};

HttpOutcome post_streaming(const HttpRequest& req, const BackendOptions& opt, ResponseSink& sink,
                           const CancelFlag* cancel);

// The URL with any "user:password@" removed.
std::string strip_credentials(std::string_view url);
// Retry-After as seconds to wait: delta-seconds ("120") or an HTTP-date, relative to now_unix;
// nullopt when it is neither.
std::optional<double> parse_retry_after(std::string_view value, double now_unix);
// The message in an error body: {"error":{"message":..}}, {"error":".."}, {"message":..}, or the
// text itself; whitespace collapsed and cut to max_chars (with "...").
std::string error_body_message(std::string_view body, size_t max_chars = 300);
// Wait before retry number `retry` (0 = first retry): min(backoff_max_s,
// backoff_initial_s * 2^retry), scaled by 0.5 + 0.5 * jitter01.
double backoff_delay_s(const BackendOptions& opt, int retry, double jitter01);

}  // namespace ipw::backends
