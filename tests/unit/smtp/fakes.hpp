#pragma once
// In-memory directory and store for SMTP tests: just enough behaviour to
// check what the SMTP server asks of them and what it delivers.

#include "homthu/directory/directory.hpp"
#include "homthu/smtp/dns.hpp"
#include "homthu/storage/store.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace homthu::smtp::test {

namespace dirns = ::homthu::directory;

// Fixed DNS answers: names not set are NXDOMAIN; `down` makes every query a
// temperror (resolver timeout). Counts queries so tests can see none happen.
class fake_dns final : public dns_resolver {
 public:
  void set(const std::string& name, dns_type t, std::vector<std::string> records) {
    std::lock_guard lock(mu_);
    answers_[{name, t}] = std::move(records);
  }
  dns_answer query(const std::string& name, dns_type t) override {
    std::lock_guard lock(mu_);
    ++queries;
    dns_answer a;
    if (down) {
      return a;
    }
    auto it = answers_.find({name, t});
    if (it == answers_.end()) {
      bool exists = false;
      for (const auto& [k, v] : answers_) {
        exists = exists || k.first == name;
      }
      a.st = exists ? dns_answer::status::nodata : dns_answer::status::nxdomain;
      return a;
    }
    a.st = dns_answer::status::ok;
    a.records = it->second;
    return a;
  }
  std::atomic<bool> down{false};
  std::atomic<unsigned> queries{0};

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, dns_type>, std::vector<std::string>> answers_;
};

class fake_directory final : public dirns::directory {
 public:
  struct user {
    dirns::account acct;
    std::string password;
  };

  void add_user(const std::string& address, const std::string& password) {
    std::lock_guard lock(mu_);
    user u;
    u.acct.address = address;
    u.acct.id = address.substr(0, address.find('@'));
    u.acct.display_name = u.acct.id;
    u.password = password;
    users_[address] = u;
  }
  dirns::account& account(const std::string& address) { return users_.at(address).acct; }
  void add_list(const std::string& address, dirns::post_policy policy, std::vector<std::string> members,
                std::vector<std::string> posters = {}) {
    std::lock_guard lock(mu_);
    dirns::recipient r;
    r.type = dirns::recipient::kind::list;
    r.list_address = address;
    r.members = std::move(members);
    r.policy = policy;
    r.posters = std::move(posters);
    lists_[address] = r;
  }
  void set_unavailable(bool v) { unavailable_ = v; }
  void set_domains(std::set<std::string> d) { domains_ = std::move(d); }

  dirns::result<dirns::auth_result> authenticate(std::string_view login, std::string_view password,
                                                         dirns::service) override {
    std::lock_guard lock(mu_);
    ++auth_calls;
    if (unavailable_) {
      return make_error_code(dirns::error::unavailable);
    }
    for (auto& [addr, u] : users_) {
      if ((addr == login || u.acct.id == login) && u.password == password) {
        if (!u.acct.enabled) {
          return make_error_code(dirns::error::disabled);
        }
        return dirns::auth_result{u.acct, false, {}};
      }
    }
    return make_error_code(dirns::error::invalid_credentials);
  }

  dirns::result<dirns::recipient> resolve(std::string_view address) override {
    std::lock_guard lock(mu_);
    if (unavailable_) {
      return make_error_code(dirns::error::unavailable);
    }
    const std::string a(address);
    if (auto it = lists_.find(a); it != lists_.end()) {
      return it->second;
    }
    for (auto& [addr, u] : users_) {
      bool hit = addr == a;
      for (const auto& al : u.acct.aliases) {
        hit = hit || al == a;
      }
      if (hit) {
        dirns::recipient r;
        r.type = dirns::recipient::kind::account;
        r.acct = u.acct;
        return r;
      }
    }
    return make_error_code(dirns::error::not_found);
  }

  dirns::result<dirns::account> find_account(std::string_view address_or_id) override {
    std::lock_guard lock(mu_);
    for (auto& [addr, u] : users_) {
      if (addr == address_or_id || u.acct.id == address_or_id) {
        return u.acct;
      }
    }
    return make_error_code(dirns::error::not_found);
  }

  bool is_local_domain(std::string_view domain) const override { return domains_.count(std::string(domain)) != 0; }

  std::atomic<int> auth_calls{0};

 private:
  std::mutex mu_;
  std::map<std::string, user> users_;
  std::map<std::string, dirns::recipient> lists_;
  std::set<std::string> domains_{"thainguyen.gov.vn"};
  std::atomic<bool> unavailable_{false};
};

class fake_store final : public storage::store {
 public:
  struct stored {
    std::string account;
    std::string mailbox;
    std::string content;
    // The prefix of content a parse made ahead did not see; none when the
    // delivery came without one.
    std::optional<std::uint64_t> ahead_prefix;
  };

  class mem_spool final : public storage::spool {
   public:
    mem_spool(fake_store& s) : s_(s) { ++s_.open_spools; }
    ~mem_spool() override { --s_.open_spools; }
    storage::result<void> write(std::string_view chunk) override {
      if (s_.fail_writes) {
        return make_error_code(storage::error::disk_full);
      }
      data_.append(chunk);
      return {};
    }
    std::uint64_t size() const override { return data_.size(); }
    storage::result<std::string> finish() override {
      std::lock_guard lock(s_.mu_);
      const auto id = "blob" + std::to_string(s_.blobs_.size() + 1);
      s_.blobs_[id] = data_;
      return id;
    }

   private:
    fake_store& s_;
    std::string data_;
  };

  storage::result<std::unique_ptr<storage::spool>> begin_spool() override {
    if (fail_spool) {
      return make_error_code(storage::error::io_error);
    }
    return std::unique_ptr<storage::spool>(std::make_unique<mem_spool>(*this));
  }

  std::vector<storage::delivery_outcome> deliver(const std::string& blob,
                                                 std::span<const storage::delivery_target> targets,
                                                 std::int64_t, storage::parsed_ahead* ahead) override {
    std::lock_guard lock(mu_);
    std::vector<storage::delivery_outcome> out;
    const auto& content = blobs_.at(blob);
    for (const auto& t : targets) {
      storage::delivery_outcome o;
      if (fail_deliver) {
        o.ec = storage::error::io_error;
      } else if (t.quota_bytes != 0 && usage_bytes(t.account) + content.size() > t.quota_bytes) {
        o.ec = storage::error::over_quota;
      } else {
        messages_.push_back({t.account, t.mailbox, content,
                             ahead && ahead->parsed ? std::optional(ahead->prefix) : std::nullopt});
        o.uid = static_cast<std::uint32_t>(messages_.size());
      }
      out.push_back(o);
    }
    return out;
  }

  storage::result<storage::quota_usage> usage(const std::string& account) override {
    std::lock_guard lock(mu_);
    storage::quota_usage u;
    for (const auto& m : messages_) {
      if (m.account == account) {
        u.bytes += m.content.size();
        ++u.messages;
      }
    }
    return u;
  }

  std::vector<stored> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<stored> messages_for(const std::string& account) {
    std::lock_guard lock(mu_);
    std::vector<stored> out;
    for (const auto& m : messages_) {
      if (m.account == account) {
        out.push_back(m);
      }
    }
    return out;
  }

  bool fail_spool = false;
  bool fail_writes = false;
  bool fail_deliver = false;
  std::atomic<int> open_spools{0};

  // Unused by SMTP.
  storage::result<storage::delivery_outcome> append(const std::string&, std::string_view, const std::string&,
                                                    const storage::flags&, std::int64_t, std::uint64_t,
                                                    std::uint64_t) override {
    return storage::result<storage::delivery_outcome>(boost::system::in_place_error, make_error_code(storage::error::not_allowed));
  }
  storage::result<std::vector<storage::delivery_outcome>> append_many(const std::string&, std::string_view,
                                                                      std::span<const append_item>, std::uint64_t,
                                                                      std::uint64_t) override {
    return make_error_code(storage::error::not_allowed);
  }
  storage::result<std::vector<storage::mailbox_status>> list_mailboxes(const std::string&) override { return std::vector<storage::mailbox_status>{}; }
  storage::result<storage::mailbox_status> status(const std::string&, std::string_view) override { return make_error_code(storage::error::not_found); }
  storage::result<storage::mailbox_status> create_mailbox(const std::string&, std::string_view, storage::special_use) override { return make_error_code(storage::error::not_allowed); }
  storage::result<void> delete_mailbox(const std::string&, std::string_view, bool) override { return make_error_code(storage::error::not_allowed); }
  storage::result<void> rename_mailbox(const std::string&, std::string_view, std::string_view) override { return make_error_code(storage::error::not_allowed); }
  storage::result<void> subscribe(const std::string&, std::string_view, bool) override { return make_error_code(storage::error::not_allowed); }
  storage::result<std::vector<std::string>> subscriptions(const std::string&) override { return std::vector<std::string>{}; }
  storage::result<std::vector<storage::message_entry>> messages(const std::string&, std::int64_t) override { return make_error_code(storage::error::not_found); }
  storage::result<std::vector<storage::message_meta>> fetch_meta(const std::string&, std::int64_t, std::span<const std::uint32_t>) override { return make_error_code(storage::error::not_found); }
  storage::result<std::unique_ptr<storage::blob_reader>> open_blob(const std::string&) override { return make_error_code(storage::error::not_found); }
  storage::result<storage::store_result> store_flags(const std::string&, std::int64_t, std::span<const std::uint32_t>, storage::flag_op, const storage::flags&, std::optional<std::uint64_t>) override { return make_error_code(storage::error::not_found); }
  storage::result<std::vector<std::uint32_t>> expunge(const std::string&, std::int64_t, std::optional<std::span<const std::uint32_t>>) override { return make_error_code(storage::error::not_found); }
  storage::result<storage::copy_result> copy(const std::string&, std::int64_t, std::span<const std::uint32_t>, std::string_view, bool, std::uint64_t, std::uint64_t) override { return make_error_code(storage::error::not_found); }
  storage::result<storage::changes> changes_since(const std::string&, std::int64_t, std::uint64_t) override { return make_error_code(storage::error::not_found); }
  storage::result<std::vector<std::uint32_t>> search_text(const std::string&, std::int64_t, storage::text_field, std::string_view) override { return make_error_code(storage::error::not_found); }
  storage::result<void> delete_account(const std::string&) override { return make_error_code(storage::error::not_allowed); }
  std::unique_ptr<storage::subscription> watch(const std::string&, std::function<void(const storage::change_event&)>) override { return nullptr; }

 private:
  std::uint64_t usage_bytes(const std::string& account) const {
    std::uint64_t n = 0;
    for (const auto& m : messages_) {
      if (m.account == account) {
        n += m.content.size();
      }
    }
    return n;
  }
  std::mutex mu_;
  std::map<std::string, std::string> blobs_;
  std::vector<stored> messages_;
};

}  // namespace homthu::smtp::test
