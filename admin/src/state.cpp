// The admin server's long-lived state (see state.hpp).
#include "state.hpp"

#include "fold.hpp"

#include <algorithm>
#include <filesystem>

namespace homthu::admin {

account_cache::list account_cache::get(const std::string& key, clock_type::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end() || now - it->second.at >= max_age_) {
    return nullptr;
  }
  return it->second.l;
}

void account_cache::put(const std::string& key, list l, clock_type::time_point now) {
  std::lock_guard lock(mu_);
  if (by_key_.size() >= 64 && !by_key_.count(key)) {
    by_key_.clear();  // bounded: a handful of administrators use it at once
  }
  auto& e = by_key_[key];
  e.l = std::move(l);
  e.at = now;
}

bool account_cache::claim_refresh(const std::string& key, clock_type::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end() || now - it->second.at < fresh_) {
    return false;
  }
  // A claim older than a minute belongs to a refresh that never reported.
  if (it->second.refreshing && now - it->second.claimed < std::chrono::minutes(1)) {
    return false;
  }
  it->second.refreshing = true;
  it->second.claimed = now;
  return true;
}

std::uint64_t account_cache::generation() {
  std::lock_guard lock(mu_);
  return generation_;
}

void account_cache::refreshed(const std::string& key, list l, clock_type::time_point now, std::uint64_t gen) {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    return;  // cleared meanwhile: the next reader lists afresh
  }
  it->second.refreshing = false;
  if (l && gen == generation_) {
    it->second.l = std::move(l);
    it->second.at = now;
  }
}

void account_cache::drop(const std::string& key) {
  std::lock_guard lock(mu_);
  by_key_.erase(key);
}

std::string search_text(const directory::account& a) {
  std::string text = a.address + " " + a.id + " " + a.display_name;
  for (const auto& al : a.aliases) {
    text += " " + al;
  }
  return fold_search(text);
}

void account_cache::update(const directory::account& a) {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto& [key, e] : by_key_) {
    for (std::size_t i = 0; i < e.l->size(); ++i) {
      if ((*e.l)[i].acct.id == a.id) {
        auto copy = std::make_shared<std::vector<indexed_account>>(*e.l);
        (*copy)[i] = {a, search_text(a)};
        e.l = copy;
        break;
      }
    }
  }
}

void account_cache::remove(const std::string& account_id) {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto& [key, e] : by_key_) {
    for (std::size_t i = 0; i < e.l->size(); ++i) {
      if ((*e.l)[i].acct.id == account_id) {
        auto copy = std::make_shared<std::vector<indexed_account>>(*e.l);
        copy->erase(copy->begin() + static_cast<std::ptrdiff_t>(i));
        e.l = copy;
        break;
      }
    }
  }
}

void account_cache::created(const std::string& key, const directory::account& a) {
  std::lock_guard lock(mu_);
  ++generation_;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (it->first != key) {
      it = by_key_.erase(it);
      continue;
    }
    auto copy = std::make_shared<std::vector<indexed_account>>(*it->second.l);
    auto pos = std::lower_bound(copy->begin(), copy->end(), a.address,
                                [](const indexed_account& e, const std::string& addr) { return e.acct.address < addr; });
    copy->insert(pos, {a, search_text(a)});
    it->second.l = copy;
    ++it;
  }
}

void account_cache::clear() {
  std::lock_guard lock(mu_);
  ++generation_;
  by_key_.clear();
}

admin_state::admin_state(services& s)
    : svc(s),
      dir_admin(s.admin_dir ? s.admin_dir : dynamic_cast<directory::directory_admin*>(&s.dir)),
      sessions(s.cfg.admin.session_idle, s.cfg.admin.session_absolute),
      limiter(s.cfg.admin.login_attempts_per_minute) {
  std::string path = s.records_path.empty() ? storage::default_admin_records_path(s.cfg.storage.path) : s.records_path;
  records = storage::open_admin_records(path, s.cfg.storage.fsync);
  totp = std::make_unique<totp_store>(path, s.cfg.storage.fsync);
  if (s.metrics) {
    api_latency = &s.metrics->get_histogram("homthu_admin_api_seconds", "Latency of admin REST API calls",
                                            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5});
    login_failures = &s.metrics->get_counter("homthu_admin_login_failures_total", "Failed console sign-ins");
    api_errors = &s.metrics->get_counter("homthu_admin_api_errors_total", "Admin API calls answered 5xx");
  }
}

}  // namespace homthu::admin
