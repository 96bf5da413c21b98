// The storage error category: stable names for log lines and a predicate for
// the errors a client should retry.

#include "homthu/storage/store.hpp"

namespace homthu::storage {

namespace {

class category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "homthu.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::not_found: return "not found";
      case error::exists: return "already exists";
      case error::invalid_name: return "invalid mailbox name";
      case error::over_quota: return "quota exceeded";
      case error::too_big: return "message too big";
      case error::disk_full: return "disk full";
      case error::io_error: return "i/o error";
      case error::busy: return "storage busy";
      case error::corrupt: return "data corrupt";
      case error::modified: return "modified since";
      case error::not_allowed: return "not allowed";
    }
    return "unknown storage error";
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const category_impl c;
  return c;
}

bool is_temporary(const boost::system::error_code& ec) {
  return ec.category() == category() &&
         (ec.value() == static_cast<int>(error::disk_full) || ec.value() == static_cast<int>(error::io_error) ||
          ec.value() == static_cast<int>(error::busy));
}

}  // namespace homthu::storage
