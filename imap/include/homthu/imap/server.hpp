#pragma once
// The IMAP4rev1 / IMAP4rev2 server (RFC 3501, RFC 9051) that homthud wires to
// its "imap" (143, STARTTLS) and "imaps" (993, implicit TLS) listeners.
// imap/README.md lists the extensions and limits.

#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/stream.hpp"
#include "homthu/common/tls.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/directory/directory.hpp"
#include "homthu/storage/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string_view>

namespace homthu::imap {

struct services {
  const common::config& cfg;
  directory::directory& dir;
  storage::store& store;
  common::worker_pool& workers;
  std::shared_ptr<common::tls_provider> tls;
};

class server {
 public:
  explicit server(services s);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Listener "imap" (143, STARTTLS, LOGINDISABLED before TLS) or "imaps" (993, TLS already up).
  boost::asio::awaitable<void> session(common::stream& s, const common::connection_info& info);
  // Over the connection caps: "* BYE [UNAVAILABLE] <reason>" and close.
  boost::asio::awaitable<void> reject(common::stream& s, const common::connection_info& info,
                                      std::string_view reason);
  void stop();  // sessions end with "* BYE Server shutting down"

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace homthu::imap
