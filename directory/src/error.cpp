// The directory's error category: messages safe to show an administrator.
#include "homthu/directory/directory.hpp"

#include <string>

namespace homthu::directory {

namespace {

class category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "homthu.directory"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::not_found: return "no such account, address or unit";
      case error::unavailable: return "directory temporarily unavailable";
      case error::invalid_credentials: return "invalid credentials";
      case error::disabled: return "account disabled";
      case error::denied: return "permission denied";
      case error::exists: return "already exists";
      case error::invalid_argument: return "invalid argument";
    }
    return "unknown directory error";
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

}  // namespace homthu::directory
