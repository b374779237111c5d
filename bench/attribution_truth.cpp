// Accuracy of per-query energy attribution against a synthetic load whose per-query energy is
// known. The machine draws a baseline B plus, for every query in flight, the same power P(t)
// (varying in time). Under that load the equal split among in-flight queries is the truth:
// a query's share minus B x its attributed time is exactly its own draw, the integral of P(t)
// over its lifetime. Two runs:
//   synthetic trace: events fed to the Attributor with the exact cumulative energy at each event;
//   real threads: a Sampler (5 ms) + Meter with queries on 8 threads, where the synthetic sensor
//     changes its load at the instant of the Meter's snapshot (so the load and the event
//     boundaries agree; a real GPU's power lags its work, which this does not model).
// Reported: max per-query relative error of the own-draw energy, and |sum of query energies -
// energy measured from first begin to last end|.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "ipw/core/clock.h"
#include "ipw/energy/attribution.h"
#include "ipw/energy/meter.h"
#include "ipw/energy/sampler.h"

using namespace ipw::energy;

namespace {

constexpr double kBaselineW = 40;
constexpr double kPi = 3.14159265358979323846;

// Per-query power P(t) = 30 (1 + 0.5 sin(2 pi t / 0.37)) W and its antiderivative.
double query_energy_antiderivative(double t) {
  const double w = 2 * kPi / 0.37;
  return 30 * (t - 0.5 * std::cos(w * t) / w);
}
double own_draw(double tb, double te) { return query_energy_antiderivative(te) - query_energy_antiderivative(tb); }

struct Result {
  double max_rel_err = 0;
  double sum_gap = 0;
  size_t queries = 0;
};

void print(const char* run, const Result& r) {
  std::printf("%s: %zu queries, max per-query relative error %.2e (target < 1%%, %s), "
              "|sum - total| %.2e J (target 0 up to rounding, %s)\n",
              run, r.queries, r.max_rel_err, r.max_rel_err < 0.01 ? "PASS" : "FAIL", r.sum_gap,
              r.sum_gap < 1e-6 ? "PASS" : "FAIL");
}

// --- synthetic trace through the Attributor -------------------------------------------------
struct Interval {
  double b, e;
};

Result synthetic(const std::vector<Interval>& qs) {
  struct Event {
    double t;
    bool begin;
    size_t q;
  };
  std::vector<Event> ev;
  for (size_t i = 0; i < qs.size(); ++i) {
    ev.push_back({qs[i].b, true, i});
    ev.push_back({qs[i].e, false, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    return a.t != b.t ? a.t < b.t : (!a.begin && b.begin);  // ends first at a tie
  });
  Attributor attr;
  double e_now = 0, t_now = ev.front().t, first_e = 0, last_e = 0;
  int n = 0;
  std::vector<Attribution> out(qs.size());
  for (size_t k = 0; k < ev.size(); ++k) {
    const Event& x = ev[k];
    e_now += kBaselineW * (x.t - t_now) + n * own_draw(t_now, x.t);
    t_now = x.t;
    if (k == 0) first_e = e_now;
    if (x.begin) {
      attr.begin(x.q, x.t, e_now);
      ++n;
    } else {
      out[x.q] = attr.end(x.q, x.t, e_now);
      --n;
    }
    last_e = e_now;
  }
  Result r;
  r.queries = qs.size();
  double sum = 0;
  for (size_t i = 0; i < qs.size(); ++i) {
    double truth = own_draw(qs[i].b, qs[i].e);
    double got = out[i].energy_j - kBaselineW * out[i].attributed_s;
    r.max_rel_err = std::max(r.max_rel_err, std::abs(got - truth) / truth);
    sum += out[i].energy_j;
  }
  r.sum_gap = std::abs(sum - (last_e - first_e));
  return r;
}

// --- real threads through Sampler + Meter -----------------------------------------------------
// Which query event the current thread's snapshot belongs to (set around meter.begin/end).
thread_local int tl_delta = 0;
thread_local double tl_t = 0, tl_e = 0;

class SyntheticLoad : public Sensor {
 public:
  SyntheticLoad() {
    info_.name = "synthetic";
    info_.source = "bench";
    info_.path = "memory";
    t_ = ipw::now_s();
  }
  const SensorInfo& info() const override { return info_; }
  SensorReading read() override {  // serialised by the Sampler
    double t = ipw::now_s();
    e_ += kBaselineW * (t - t_) + n_ * own_draw(t_, t);
    t_ = t;
    n_ += tl_delta;  // the load changes exactly at the event's snapshot
    tl_t = t;
    tl_e = e_;
    SensorReading r;
    r.has_energy = true;
    r.energy_j = e_;
    return r;
  }

 private:
  SensorInfo info_;
  double t_ = 0, e_ = 0;
  int n_ = 0;
};

struct Done {
  double tb, te, eb, ee;
  Attribution a;
};

Result threaded(int threads, int per_thread, unsigned seed) {
  SensorList sensors;
  sensors.push_back(std::make_unique<SyntheticLoad>());
  Sampler sampler(std::move(sensors), 0.005);
  sampler.start();
  Meter meter(sampler);
  std::mutex mu;
  std::vector<Done> done;
  auto worker = [&](unsigned s) {
    std::mt19937 rng(s);
    std::uniform_real_distribution<double> dur(0.04, 0.2), gap(0.0, 0.04);
    for (int k = 0; k < per_thread; ++k) {
      std::this_thread::sleep_for(std::chrono::duration<double>(gap(rng)));
      Done d{};
      tl_delta = +1;
      uint64_t h = meter.begin();
      tl_delta = 0;
      d.tb = tl_t;
      d.eb = tl_e;
      std::this_thread::sleep_for(std::chrono::duration<double>(dur(rng)));
      tl_delta = -1;
      d.a = meter.end(h);
      tl_delta = 0;
      d.te = tl_t;
      d.ee = tl_e;
      std::lock_guard lock(mu);
      done.push_back(d);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, seed + static_cast<unsigned>(i));
  for (auto& t : pool) t.join();
  sampler.stop();

  Result r;
  r.queries = done.size();
  double sum = 0, first_e = done[0].eb, last_e = done[0].ee;
  for (const auto& d : done) {
    double truth = own_draw(d.tb, d.te);
    double got = d.a.energy_j - kBaselineW * d.a.attributed_s;
    r.max_rel_err = std::max(r.max_rel_err, std::abs(got - truth) / truth);
    sum += d.a.energy_j;
    first_e = std::min(first_e, d.eb);
    last_e = std::max(last_e, d.ee);
  }
  r.sum_gap = std::abs(sum - (last_e - first_e));
  return r;
}

}  // namespace

int main() {
  std::printf("load: baseline %.0f W + 30 W x (1 + 0.5 sin) per in-flight query; "
              "truth = each query's own draw (energy - baseline x attributed time)\n", kBaselineW);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dur(0.05, 0.5), gap(0.0, 0.1), start(0.0, 3.0);
  std::vector<Interval> seq;
  double t = 0;
  for (int i = 0; i < 200; ++i) {
    t += gap(rng);
    double d = dur(rng);
    seq.push_back({t, t + d});
    t += d;
  }
  print("synthetic trace, sequential", synthetic(seq));
  std::vector<Interval> conc;
  for (int i = 0; i < 200; ++i) {  // about 8 in flight on average
    double b = start(rng);
    conc.push_back({b, b + dur(rng) * 0.43});
  }
  print("synthetic trace, concurrent", synthetic(conc));
  print("sampler+meter, sequential (1 thread)", threaded(1, 10, 11));
  print("sampler+meter, concurrent (8 threads)", threaded(8, 6, 23));
  return 0;
}
