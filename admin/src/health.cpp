// /healthz: is the directory answering, is the store writable, how much disk
// is left. 200 when mail can flow, 503 otherwise, with the reason in JSON.
#include "routes.hpp"

#include <sys/statvfs.h>

namespace homthu::admin {

boost::asio::awaitable<response> healthz(services& svc) {
  std::string domain = svc.cfg.server.domains.front();
  auto dir_state = co_await svc.workers.run([&svc, &domain] {
    auto r = svc.dir.resolve("postmaster@" + domain);
    if (!r && r.error() == directory::error::unavailable) {
      return std::string("unavailable");
    }
    return std::string("ok");
  });
  struct statvfs st{};
  std::uint64_t free_bytes = 0;
  std::string disk = "ok";
  if (::statvfs(svc.cfg.storage.path.c_str(), &st) == 0) {
    free_bytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    if (free_bytes < (256ull << 20)) {
      disk = "low";
    }
  } else {
    disk = "unavailable";
  }
  bool ok = dir_state == "ok" && disk != "unavailable";
  response r;
  r.status = ok ? 200 : 503;
  r.body = "{\"status\":\"" + std::string(ok ? "ok" : "degraded") + "\",\"directory\":\"" + dir_state +
           "\",\"disk\":\"" + disk + "\",\"disk_free_bytes\":" + std::to_string(free_bytes) + "}";
  co_return r;
}

}  // namespace homthu::admin
