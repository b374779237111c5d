#include "ipw/backends/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "ipw/core/clock.h"
#include "ipw/core/error.h"
#include "ipw/core/json.h"
#include "ipw/core/strings.h"

namespace ipw::backends {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr long kPollMs = 50;

// The handles of one thread. The multi handle owns the connection cache, so connections survive
// from one request to the next.
struct CurlThread {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  CurlThread() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi = curl_multi_init();
    easy = curl_easy_init();
    if (!multi || !easy) fail(Errc::internal, "libcurl could not create a handle (out of memory?)");
  }
  ~CurlThread() {
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }
  CurlThread(const CurlThread&) = delete;
  CurlThread& operator=(const CurlThread&) = delete;
};

struct HeaderList {
  curl_slist* list = nullptr;
  void add(const std::string& h) {
    curl_slist* n = curl_slist_append(list, h.c_str());
    if (!n) fail(Errc::internal, "libcurl: out of memory building headers");
    list = n;
  }
  ~HeaderList() { curl_slist_free_all(list); }
};

// State of one attempt, shared with the libcurl callbacks (which must not throw).
struct Attempt {
  ResponseSink* sink = nullptr;
  long status = 0;
  std::string content_type;
  std::optional<double> retry_after_s;
  bool started = false;  // a 2xx body reached the sink
  size_t body_bytes = 0;
  std::string error_body;
  std::exception_ptr sink_error;
  double wake_s = 0;           // when the transfer loop woke up to read what is arriving now
  double last_byte_s = 0;      // last body byte
  double last_activity_s = 0;  // request sent, or last header or body byte
  bool idle_expired = false;   // aborted by the idle timeout (not the total one)

  bool ok_status() const { return status >= 200 && status < 300; }
};

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* a = static_cast<Attempt*>(ud);
  std::string_view line(p, size * n);
  a->last_activity_s = a->wake_s;
  if (starts_with(line, "HTTP/")) {  // a new status line (after 100 Continue, too)
    a->status = 0;
    a->content_type.clear();
    a->retry_after_s.reset();
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      long code = 0;
      for (size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
        code = code * 10 + (line[i] - '0');
      a->status = code;
    }
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name = to_lower(trim(line.substr(0, colon)));
  std::string_view value = trim(line.substr(colon + 1));
  if (name == "content-type") a->content_type = to_lower(value);
  else if (name == "retry-after") a->retry_after_s = parse_retry_after(value, unix_time_s());
  return line.size();
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* a = static_cast<Attempt*>(ud);
  size_t len = size * n;
  a->last_byte_s = a->last_activity_s = a->wake_s;
  if (!a->ok_status()) {
    if (a->error_body.size() < kMaxErrorBody)
      a->error_body.append(p, std::min(len, kMaxErrorBody - a->error_body.size()));
    return len;
  }
  try {
    if (!a->started) {
      a->started = true;
      a->sink->on_start(a->status, a->content_type);
    }
    a->body_bytes += len;
    a->sink->on_data(std::string_view(p, len), a->wake_s);
  } catch (...) {
    a->sink_error = std::current_exception();
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

bool retryable_status(long s) { return s == 408 || s == 429 || (s >= 500 && s <= 599); }

bool retryable_transport(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
      return true;
    default:
      return false;
  }
}

std::string status_hint(long s) {
  if (s == 401 || s == 403) return "check the API key (its environment variable) and its permissions";
  if (s == 404) return "check the model name and that --base-url ends at the API root (e.g. .../v1)";
  if (s == 429) return "the server is rate limiting: lower --concurrency or try later";
  if (s >= 300 && s < 400) return "the server redirects: pass the final URL as --base-url";
  if (s >= 500) return "the server failed: check its log";
  return "check the request settings";
}

class Transfer {
 public:
  Transfer(const HttpRequest& req, const BackendOptions& opt, ResponseSink& sink,
           const CancelFlag* cancel)
      : req_(req), opt_(opt), sink_(sink), cancel_(cancel), shown_url_(strip_credentials(req.url)) {
    headers_.add("Content-Type: application/json");
    headers_.add("Expect:");  // no 100-continue round trip: it would add latency to every request
    for (const auto& h : req.headers) headers_.add(h);
    if (!req.api_key.empty())
      headers_.add(req.api_key_header.empty() ? "Authorization: Bearer " + req.api_key
                                              : req.api_key_header + ": " + req.api_key);
  }

  HttpOutcome run() {
    const double deadline = now_s() + opt_.total_timeout_s;
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int attempt = 1;; ++attempt) {
      check_cancel();
      double remaining = deadline - now_s();
      if (remaining <= 0) raise(Errc::timeout, "request to {} exceeded the total timeout of {} s ({} attempts); raise --timeout if answers are long", shown_url_, opt_.total_timeout_s, attempt - 1);
      Attempt a;
      a.sink = &sink_;
      const double start = now_s();
      CURLcode rc = perform(a, remaining);
      if (a.sink_error) rethrow_redacted(a.sink_error);
      if (rc == CURLE_ABORTED_BY_CALLBACK || (cancel_ && cancel_->load()))
        raise(Errc::cancelled, "request to {} cancelled", shown_url_);

      std::optional<double> wait;  // set: retry after this many seconds
      std::string why;
      if (a.status >= 300 || (rc == CURLE_OK && !a.ok_status())) {
        std::string msg = error_body_message(a.error_body);
        why = fmt::format("{} answered HTTP {}{}{}", shown_url_, a.status, msg.empty() ? "" : ": ", msg);
        if (!retryable_status(a.status))
          raise(Errc::http, "{} ({})", why, status_hint(a.status));
        wait = a.retry_after_s;
        if (!wait) wait = backoff_delay_s(opt_, attempt - 1, unit(rng));
        why += fmt::format(" ({})", status_hint(a.status));
      } else if (rc == CURLE_OK) {
        if (!a.started) sink_.on_start(a.status, a.content_type);  // empty 2xx body
        return {start, a.last_byte_s > 0 ? a.last_byte_s : now_s(), attempt, a.status};
      } else if (a.started) {
        fail_mid_stream(rc, a);
      } else {
        why = transport_message(rc, a);
        if (!retryable_transport(rc)) raise(code_for(rc), "{}", why);
        wait = backoff_delay_s(opt_, attempt - 1, unit(rng));
      }
      if (attempt > opt_.max_retries)
        raise(a.status >= 300 ? Errc::http : code_for(rc), "{} (gave up after {} attempt{})", why,
              attempt, attempt == 1 ? "" : "s");
      if (now_s() + *wait > deadline)
        raise(a.status >= 300 ? Errc::http : code_for(rc),
              "{}; a retry in {:.1f} s would pass the total timeout of {} s", why, *wait,
              opt_.total_timeout_s);
      sleep_interruptibly(*wait);
    }
  }

 private:
  template <typename... Args>
  [[noreturn]] void raise(Errc code, fmt::format_string<Args...> f, Args&&... args) {
    throw Error(code, redact(fmt::format(f, std::forward<Args>(args)...), {req_.api_key}));
  }

  [[noreturn]] void rethrow_redacted(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const Error& err) {
      throw Error(err.code(), redact(err.what(), {req_.api_key}));
    } catch (const std::exception& err) {
      throw Error(Errc::internal, redact(err.what(), {req_.api_key}));
    }
  }

  void check_cancel() {
    if (cancel_ && cancel_->load()) raise(Errc::cancelled, "request to {} cancelled", shown_url_);
  }

  void sleep_interruptibly(double seconds) {
    const double until = now_s() + seconds;
    for (double left = seconds; left > 0; left = until - now_s()) {
      check_cancel();
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, kPollMs / 1000.0)));
    }
    check_cancel();
  }

  Errc code_for(CURLcode rc) const {
    if (rc == CURLE_OPERATION_TIMEDOUT) return Errc::timeout;
    return Errc::network;
  }

  std::string transport_message(CURLcode rc, const Attempt& a) {
    std::string detail = errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT && a.idle_expired)
      return fmt::format("no response from {} within {} s; the server may be overloaded or stuck: check it, or raise --idle-timeout", shown_url_, opt_.idle_timeout_s);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return fmt::format("request to {} exceeded the total timeout of {} s ({}); raise --timeout if answers are long", shown_url_, opt_.total_timeout_s, detail);
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
      return fmt::format("cannot resolve the host of {} ({}); check --base-url", shown_url_, detail);
    if (rc == CURLE_COULDNT_CONNECT)
      return fmt::format("cannot connect to {} ({}); is the server running? start it or pass --base-url", shown_url_, detail);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
      return fmt::format("bad URL {} ({}); pass --base-url as http(s)://host:port/...", shown_url_, detail);
    return fmt::format("request to {} failed before an answer arrived ({}); is the server healthy? check it or --base-url", shown_url_, detail);
  }

  [[noreturn]] void fail_mid_stream(CURLcode rc, const Attempt& a) {
    std::string detail = errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT && a.idle_expired)
      raise(Errc::timeout, "the stream from {} stalled: no data for {} s after {} bytes of the answer; the partial answer was discarded (raise --idle-timeout if the model thinks silently)", shown_url_, opt_.idle_timeout_s, a.body_bytes);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      raise(Errc::timeout, "request to {} exceeded the total timeout of {} s after {} bytes of the answer; the partial answer was discarded (raise --timeout)", shown_url_, opt_.total_timeout_s, a.body_bytes);
    raise(Errc::http, "stream truncated: the connection to {} broke after {} bytes of the answer ({}); the partial answer was discarded, check the server's log", shown_url_, a.body_bytes, detail);
  }

  CURLcode perform(Attempt& a, double timeout_s) {
    static thread_local CurlThread ct;
    CURL* h = ct.easy;
    curl_easy_reset(h);
    errbuf_[0] = '\0';
    auto ms = [](double s) { return static_cast<long>(std::max(1.0, std::ceil(s * 1000))); };
    curl_easy_setopt(h, CURLOPT_URL, req_.url.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req_.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req_.body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.list);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ipw/" IPW_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(std::min(opt_.connect_timeout_s, timeout_s)));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms(timeout_s));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);

    // The idle timeout is enforced here rather than with CURLOPT_LOW_SPEED_TIME: libcurl averages
    // speed over a window of several seconds that includes the uploaded request, so a 1 s idle
    // limit fired only after about 7 s.
    a.last_activity_s = now_s();
    if (curl_multi_add_handle(ct.multi, h) != CURLM_OK)
      fail(Errc::internal, "libcurl: cannot add a transfer to the multi handle");
    CURLcode result = CURLE_OK;
    a.wake_s = now_s();
    for (bool done = false; !done;) {
      int running = 0;
      CURLMcode mc = curl_multi_perform(ct.multi, &running);
      if (mc != CURLM_OK) {
        curl_multi_remove_handle(ct.multi, h);
        fail(Errc::internal, "libcurl: {}", curl_multi_strerror(mc));
      }
      int queued = 0;
      while (CURLMsg* m = curl_multi_info_read(ct.multi, &queued)) {
        if (m->msg == CURLMSG_DONE) {
          result = m->data.result;
          done = true;
        }
      }
      if (done || a.sink_error) break;
      if (cancel_ && cancel_->load()) {
        result = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      double idle_left = a.last_activity_s + opt_.idle_timeout_s - now_s();
      if (idle_left <= 0) {
        a.idle_expired = true;
        result = CURLE_OPERATION_TIMEDOUT;
        break;
      }
      int wait_ms = static_cast<int>(std::clamp(std::ceil(idle_left * 1000), 1.0, double(kPollMs)));
      curl_multi_poll(ct.multi, nullptr, 0, wait_ms, nullptr);
      a.wake_s = now_s();
    }
    curl_multi_remove_handle(ct.multi, h);
    return result;
  }

  const HttpRequest& req_;
  const BackendOptions& opt_;
  ResponseSink& sink_;
  const CancelFlag* cancel_;
  std::string shown_url_;
  HeaderList headers_;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

}  // namespace

HttpOutcome post_streaming(const HttpRequest& req, const BackendOptions& opt, ResponseSink& sink,
                           const CancelFlag* cancel) {
  return Transfer(req, opt, sink, cancel).run();
}

std::string strip_credentials(std::string_view url) {
  size_t scheme = url.find("://");
  size_t auth = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", auth);
  if (end == std::string_view::npos) end = url.size();
  size_t at = url.substr(auth, end - auth).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, auth)) + std::string(url.substr(auth + at + 1));
}

std::optional<double> parse_retry_after(std::string_view value, double now_unix) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;
    return std::stod(std::string(value));
  }
  time_t t = curl_getdate(std::string(value).c_str(), nullptr);
  if (t < 0) return std::nullopt;
  return std::max(0.0, static_cast<double>(t) - now_unix);
}

std::string error_body_message(std::string_view body, size_t max_chars) {
  std::string msg;
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    const Json* e = j.contains("error") ? &j["error"] : nullptr;
    if (e && e->is_object() && e->contains("message") && (*e)["message"].is_string())
      msg = (*e)["message"].get<std::string>();
    else if (e && e->is_string())
      msg = e->get<std::string>();
    else if (j.contains("message") && j["message"].is_string())
      msg = j["message"].get<std::string>();
    else if (j.contains("detail") && j["detail"].is_string())  // FastAPI-style servers
      msg = j["detail"].get<std::string>();
    else
      msg = j.dump();
  } else {
    msg.assign(body);
  }
  std::string out;
  bool space = false;
  for (char c : msg) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  if (out.size() > max_chars) {
    out.resize(max_chars);
    out += "...";
  }
  return out;
}

double backoff_delay_s(const BackendOptions& opt, int retry, double jitter01) {
  double d = opt.backoff_initial_s * std::pow(2.0, std::min(retry, 30));
  return std::min(d, opt.backoff_max_s) * (0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0));
}

}  // namespace ipw::backends
