// libldap connection pool. Trusts slapd's answers (it is our own directory)
// but not its availability: every call is bounded by the configured timeout
// and a dead connection is replaced, never reused. Handles are never shared
// between threads at the same time.
#include "ldap_pool.hpp"

#include "homthu/common/log.hpp"

#include <cstring>

namespace homthu::directory::ldap {

namespace {

const std::vector<std::string> no_values;

// After a failed connect, further attempts wait this long: lookups during an
// outage fail at once instead of each waiting on the network.
constexpr auto reconnect_backoff = std::chrono::milliseconds(500);

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

struct mods_holder {
  std::vector<LDAPMod> mods;
  std::vector<std::vector<berval>> vals;
  std::vector<std::vector<berval*>> ptrs;
  std::vector<LDAPMod*> list;

  explicit mods_holder(const std::vector<mod>& in) {
    mods.resize(in.size());
    vals.resize(in.size());
    ptrs.resize(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      for (const auto& v : in[i].values) {
        vals[i].push_back(berval{static_cast<ber_len_t>(v.size()), const_cast<char*>(v.data())});
      }
      for (auto& b : vals[i]) {
        ptrs[i].push_back(&b);
      }
      ptrs[i].push_back(nullptr);
      mods[i].mod_op = in[i].op | LDAP_MOD_BVALUES;
      mods[i].mod_type = const_cast<char*>(in[i].attr.c_str());
      // A delete of the whole attribute passes no values.
      mods[i].mod_bvalues = in[i].values.empty() ? nullptr : ptrs[i].data();
    }
    for (auto& m : mods) {
      list.push_back(&m);
    }
    list.push_back(nullptr);
  }
};

}  // namespace

const std::vector<std::string>& entry::all(const std::string& name) const {
  auto it = attrs.find(name);
  return it == attrs.end() ? no_values : it->second;
}

std::string entry::first(const std::string& name) const {
  const auto& v = all(name);
  return v.empty() ? std::string() : v.front();
}

bool entry::has_value(const std::string& name, std::string_view value_lower) const {
  for (const auto& v : all(name)) {
    if (lower(v) == value_lower) {
      return true;
    }
  }
  return false;
}

bool is_transport_error(int rc) {
  switch (rc) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
    case LDAP_LOCAL_ERROR:
    case LDAP_ENCODING_ERROR:
    case LDAP_DECODING_ERROR:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
    case LDAP_TIMELIMIT_EXCEEDED:
      return true;
    default:
      return false;
  }
}

pool::pool(settings s) : s_(std::move(s)) {
  service_.resize(s_.size == 0 ? 1 : s_.size);
  auth_.resize(s_.size == 0 ? 1 : s_.size);
}

pool::~pool() {
  for (auto* set : {&service_, &auth_}) {
    for (auto& h : *set) {
      drop(h.ld);
    }
  }
}

void pool::drop(LDAP*& ld) {
  if (ld != nullptr) {
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    ld = nullptr;
  }
}

LDAP* pool::connect(bool bind_as_service, int& rc) {
  LDAP* ld = nullptr;
  rc = ldap_initialize(&ld, s_.uri.c_str());
  if (rc != LDAP_SUCCESS || ld == nullptr) {
    return nullptr;
  }
  int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  timeval tv{static_cast<time_t>(s_.timeout.count()), 0};
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
  if (bind_as_service) {
    berval cred{static_cast<ber_len_t>(s_.bind_password.size()),
                const_cast<char*>(s_.bind_password.data())};
    rc = ldap_sasl_bind_s(ld, s_.bind_dn.empty() ? nullptr : s_.bind_dn.c_str(), LDAP_SASL_SIMPLE,
                          &cred, nullptr, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      if (!is_transport_error(rc)) {
        common::log::error("directory.bind_failed",
                           {{"dn", s_.bind_dn}, {"reason", ldap_err2string(rc)}});
      }
      drop(ld);
      return nullptr;
    }
  }
  return ld;
}

result<int> pool::with_handle(std::vector<handle>& set, bool bind_as_service,
                              const std::function<int(LDAP*)>& f) {
  auto deadline = std::chrono::steady_clock::now() + s_.timeout;
  handle* h = nullptr;
  {
    std::unique_lock lk(mu_);
    for (;;) {
      for (auto& c : set) {
        if (!c.busy) {
          h = &c;
          break;
        }
      }
      if (h != nullptr) {
        break;
      }
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
        return make_error_code(error::unavailable);
      }
    }
    h->busy = true;
  }
  struct release {
    pool* p;
    handle* h;
    ~release() {
      std::lock_guard lk(p->mu_);
      h->busy = false;
      p->cv_.notify_one();
    }
  } guard{this, h};

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (h->ld == nullptr) {
      {
        std::lock_guard lk(mu_);
        if (std::chrono::steady_clock::now() < next_attempt_) {
          return make_error_code(error::unavailable);
        }
      }
      int rc = 0;
      h->ld = connect(bind_as_service, rc);
      if (h->ld == nullptr) {
        std::lock_guard lk(mu_);
        next_attempt_ = std::chrono::steady_clock::now() + reconnect_backoff;
        if (connected_.exchange(false)) {
          common::log::warn("directory.unavailable", {{"uri", s_.uri}, {"reason", ldap_err2string(rc)}});
        }
        return make_error_code(error::unavailable);
      }
      fresh = true;
      ++reconnects_;
      if (!connected_.exchange(true)) {
        common::log::info("directory.connected", {{"uri", s_.uri}});
      }
    }
    int rc = f(h->ld);
    if (!is_transport_error(rc)) {
      return rc;
    }
    ++errors_;
    drop(h->ld);
    // A handle that worked before may just be stale (slapd restarted since):
    // one retry on a new connection. A fresh one failing means slapd is gone.
    if (fresh || rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED) {
      std::lock_guard lk(mu_);
      next_attempt_ = std::chrono::steady_clock::now() + reconnect_backoff;
      if (connected_.exchange(false)) {
        common::log::warn("directory.unavailable", {{"uri", s_.uri}, {"reason", ldap_err2string(rc)}});
      }
      return make_error_code(error::unavailable);
    }
  }
  return make_error_code(error::unavailable);
}

bool pool::probe() {
  auto r = with_handle(service_, true, [](LDAP*) { return LDAP_SUCCESS; });
  return r.has_value();
}

result<std::vector<entry>> pool::search(const std::string& base, int scope, const std::string& filter,
                                        const std::vector<std::string>& attrs, int page_size) {
  std::vector<entry> out;
  std::vector<char*> attr_ptrs;
  for (const auto& a : attrs) {
    attr_ptrs.push_back(const_cast<char*>(a.c_str()));
  }
  attr_ptrs.push_back(nullptr);
  auto r = with_handle(service_, true, [&](LDAP* ld) -> int {
    out.clear();
    berval* cookie = nullptr;
    int rc = LDAP_SUCCESS;
    for (int pages = 0; pages < 100000; ++pages) {
      LDAPControl* page_ctrl = nullptr;
      LDAPControl* server_ctrls[2] = {nullptr, nullptr};
      if (page_size > 0) {
        // RFC 2696 §3: the cookie from the previous page, empty at first.
        rc = ldap_create_page_control(ld, page_size, cookie, 1, &page_ctrl);
        if (rc != LDAP_SUCCESS) {
          break;
        }
        server_ctrls[0] = page_ctrl;
      }
      timeval tv{static_cast<time_t>(s_.timeout.count()), 0};
      LDAPMessage* res = nullptr;
      rc = ldap_search_ext_s(ld, base.c_str(), scope, filter.c_str(),
                             attrs.empty() ? nullptr : attr_ptrs.data(), 0,
                             page_size > 0 ? server_ctrls : nullptr, nullptr, &tv, LDAP_NO_LIMIT, &res);
      if (page_ctrl != nullptr) {
        ldap_control_free(page_ctrl);
      }
      if (rc != LDAP_SUCCESS) {
        if (res != nullptr) {
          ldap_msgfree(res);
        }
        break;
      }
      for (LDAPMessage* e = ldap_first_entry(ld, res); e != nullptr; e = ldap_next_entry(ld, e)) {
        entry en;
        if (char* dn = ldap_get_dn(ld, e)) {
          en.dn = dn;
          ldap_memfree(dn);
        }
        BerElement* ber = nullptr;
        for (char* a = ldap_first_attribute(ld, e, &ber); a != nullptr;
             a = ldap_next_attribute(ld, e, ber)) {
          auto& vals = en.attrs[lower(a)];
          if (berval** bv = ldap_get_values_len(ld, e, a)) {
            for (int i = 0; bv[i] != nullptr; ++i) {
              vals.emplace_back(bv[i]->bv_val, bv[i]->bv_len);
            }
            ldap_value_free_len(bv);
          }
          ldap_memfree(a);
        }
        if (ber != nullptr) {
          ber_free(ber, 0);
        }
        out.push_back(std::move(en));
      }
      bool more = false;
      if (page_size > 0) {
        LDAPControl** returned = nullptr;
        int err = LDAP_SUCCESS;
        rc = ldap_parse_result(ld, res, &err, nullptr, nullptr, nullptr, &returned, 0);
        if (rc == LDAP_SUCCESS) {
          rc = err;
        }
        if (cookie != nullptr) {
          ber_bvfree(cookie);
          cookie = nullptr;
        }
        if (rc == LDAP_SUCCESS && returned != nullptr) {
          if (LDAPControl* pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nullptr)) {
            ber_int_t estimate = 0;
            berval c{0, nullptr};
            if (ldap_parse_pageresponse_control(ld, pc, &estimate, &c) == LDAP_SUCCESS) {
              if (c.bv_len > 0) {
                cookie = ber_bvdup(&c);
                more = true;
              }
              ber_memfree(c.bv_val);
            }
          }
        }
        if (returned != nullptr) {
          ldap_controls_free(returned);
        }
      }
      ldap_msgfree(res);
      if (rc != LDAP_SUCCESS || !more) {
        break;
      }
    }
    if (cookie != nullptr) {
      ber_bvfree(cookie);
    }
    if (rc == LDAP_NO_SUCH_OBJECT) {
      out.clear();
      return LDAP_SUCCESS;
    }
    return rc;
  });
  if (!r) {
    return r.error();
  }
  if (*r != LDAP_SUCCESS) {
    common::log::warn("directory.search_failed", {{"base", base}, {"reason", ldap_err2string(*r)}});
    return make_error_code(error::unavailable);
  }
  return out;
}

result<int> pool::add(const std::string& dn, const std::vector<mod>& attrs) {
  return with_handle(service_, true, [&](LDAP* ld) {
    mods_holder m(attrs);
    return ldap_add_ext_s(ld, dn.c_str(), m.list.data(), nullptr, nullptr);
  });
}

result<int> pool::modify(const std::string& dn, const std::vector<mod>& mods) {
  return with_handle(service_, true, [&](LDAP* ld) {
    mods_holder m(mods);
    return ldap_modify_ext_s(ld, dn.c_str(), m.list.data(), nullptr, nullptr);
  });
}

result<int> pool::rename(const std::string& dn, const std::string& new_rdn,
                         const std::string& new_parent) {
  return with_handle(service_, true, [&](LDAP* ld) {
    return ldap_rename_s(ld, dn.c_str(), new_rdn.c_str(), new_parent.c_str(), 1, nullptr, nullptr);
  });
}

result<int> pool::remove(const std::string& dn) {
  return with_handle(service_, true,
                     [&](LDAP* ld) { return ldap_delete_ext_s(ld, dn.c_str(), nullptr, nullptr); });
}

result<int> pool::check_bind(const std::string& dn, std::string_view password) {
  // An empty password would be an unauthenticated bind (RFC 4513 §5.1.2),
  // which slapd may accept: never let it through.
  if (password.empty()) {
    return LDAP_INVALID_CREDENTIALS;
  }
  return with_handle(auth_, false, [&](LDAP* ld) {
    berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
    return ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  });
}

}  // namespace homthu::directory::ldap
