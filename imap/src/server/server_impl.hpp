#pragma once
// What every session of one server shares: the services and the registry
// server::stop() walks to end sessions.

#include "homthu/imap/server.hpp"
#include "session.hpp"

#include <map>
#include <mutex>

namespace homthu::imap {

struct server::impl {
  explicit impl(services s) : svc(std::move(s)) {}
  services svc;
  std::mutex mu;
  std::map<session_control*, std::weak_ptr<session_control>> sessions;
  bool stopped = false;
};

}  // namespace homthu::imap
