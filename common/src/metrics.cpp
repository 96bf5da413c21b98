#include "homthu/common/metrics.hpp"

#include <cstdio>
#include <map>

namespace homthu::common {

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    buckets_[i] = 0;
  }
}

void histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

double histogram::sum() const { return static_cast<double>(sum_micros_.load()) / 1e6; }

metrics::entry* metrics::find(const std::string& name) {
  for (auto& e : entries_) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

counter& metrics::get_counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name)) {
    return *e->c;
  }
  auto& e = entries_.emplace_back(entry{name, help, entry::kind::counter, std::make_unique<counter>(), nullptr, nullptr});
  return *e.c;
}

gauge& metrics::get_gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name)) {
    return *e->g;
  }
  auto& e = entries_.emplace_back(entry{name, help, entry::kind::gauge, nullptr, std::make_unique<gauge>(), nullptr});
  return *e.g;
}

histogram& metrics::get_histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  if (auto* e = find(name)) {
    return *e->h;
  }
  auto& e = entries_.emplace_back(entry{name, help, entry::kind::histogram, nullptr, nullptr,
                                        std::make_unique<histogram>(std::move(bounds))});
  return *e.h;
}

std::string metrics::prometheus_text() const {
  std::lock_guard lock(mu_);
  // Group series of one metric family (same name before '{') under one HELP/TYPE.
  std::map<std::string, std::vector<const entry*>> families;
  for (const auto& e : entries_) {
    families[e.name.substr(0, e.name.find('{'))].push_back(&e);
  }
  std::string out;
  char num[64];
  for (const auto& [family, list] : families) {
    const entry& first = *list.front();
    const char* type = first.type == entry::kind::counter ? "counter" : first.type == entry::kind::gauge ? "gauge" : "histogram";
    out += "# HELP " + family + " " + first.help + "\n# TYPE " + family + " " + type + "\n";
    for (const entry* e : list) {
      auto labels = e->name.size() > family.size() ? e->name.substr(family.size() + 1, e->name.size() - family.size() - 2) : std::string{};
      switch (e->type) {
        case entry::kind::counter:
          out += e->name + " " + std::to_string(e->c->value()) + "\n";
          break;
        case entry::kind::gauge:
          out += e->name + " " + std::to_string(e->g->value()) + "\n";
          break;
        case entry::kind::histogram: {
          std::uint64_t cumulative = 0;
          const auto& h = *e->h;
          const std::string& name = family;  // clang < 16 cannot capture a structured binding
          auto with = [&](const std::string& le) {
            return name + "_bucket{" + (labels.empty() ? "" : labels + ",") + "le=\"" + le + "\"}";
          };
          for (std::size_t i = 0; i < h.bounds().size(); ++i) {
            cumulative += h.bucket(i);
            std::snprintf(num, sizeof num, "%g", h.bounds()[i]);
            out += with(num) + " " + std::to_string(cumulative) + "\n";
          }
          cumulative += h.bucket(h.bounds().size());
          out += with("+Inf") + " " + std::to_string(cumulative) + "\n";
          std::snprintf(num, sizeof num, "%.6f", h.sum());
          std::string suffix = labels.empty() ? "" : "{" + labels + "}";
          out += family + "_sum" + suffix + " " + num + "\n";
          out += family + "_count" + suffix + " " + std::to_string(h.count()) + "\n";
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace homthu::common
