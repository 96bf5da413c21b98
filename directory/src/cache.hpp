#pragma once
// A TTL map for directory lookups. Entries are kept after they expire so
// that an outage can still be answered from them ("stale"); they are
// dropped wholesale on our own writes and when the map grows past its cap.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace homthu::directory::detail {

using clock = std::chrono::steady_clock;

template <class V>
class ttl_cache {
 public:
  struct slot {
    std::shared_ptr<const V> value;
    clock::time_point expires;
    bool fresh(clock::time_point now) const { return now < expires; }
  };

  explicit ttl_cache(std::size_t cap = 200000) : cap_(cap) {}

  std::optional<slot> get(const std::string& key) const {
    std::shared_lock lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  void put(const std::string& key, std::shared_ptr<const V> v, std::chrono::seconds ttl) {
    std::unique_lock lk(mu_);
    if (map_.size() >= cap_) {
      // Bounded memory: a full cache is emptied, the hot set refills in one TTL.
      map_.clear();
    }
    map_[key] = slot{std::move(v), clock::now() + ttl};
  }

  void erase(const std::string& key) {
    std::unique_lock lk(mu_);
    map_.erase(key);
  }

  template <class Pred>
  void erase_if(Pred pred) {
    std::unique_lock lk(mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (pred(*it->second.value)) {
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void clear() {
    std::unique_lock lk(mu_);
    map_.clear();
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, slot> map_;
  std::size_t cap_;
};

}  // namespace homthu::directory::detail
