#pragma once
// Process metrics in Prometheus text format (served by admin at /metrics).
// One registry is made by homthud and passed to the servers; counters are
// registered at start-up and then only incremented (lock-free).
//
//   auto& accepted = reg.counter("homthu_smtp_messages_accepted_total", "Messages accepted");
//   accepted.inc();

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace homthu::common {

class counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge {
 public:
  void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Latency histogram with fixed buckets in seconds.
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double seconds);
  const std::vector<double>& bounds() const { return bounds_; }
  std::uint64_t bucket(std::size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class metrics {
 public:
  // `name` may carry labels: `homthu_connections{listener="imap"}`. The same
  // name returns the same object.
  counter& get_counter(const std::string& name, const std::string& help);
  gauge& get_gauge(const std::string& name, const std::string& help);
  histogram& get_histogram(const std::string& name, const std::string& help,
                           std::vector<double> bounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  std::string prometheus_text() const;

 private:
  struct entry {
    std::string name;
    std::string help;
    enum class kind { counter, gauge, histogram } type;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
  };
  entry* find(const std::string& name);
  mutable std::mutex mu_;
  std::deque<entry> entries_;
};

}  // namespace homthu::common
