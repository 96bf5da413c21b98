// homthud: the mail daemon. Wiring only: read the configuration, bind every
// listener (so a port in use stops start-up before anything else runs), drop
// privileges, open storage and the directory, start the protocol servers,
// and stop gracefully on SIGTERM/SIGINT. SIGHUP reloads the TLS certificate.
#include "homthu/admin/server.hpp"
#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/log.hpp"
#include "homthu/common/metrics.hpp"
#include "homthu/common/tls.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/directory/ldap_directory.hpp"
#include "homthu/imap/server.hpp"
#include "homthu/smtp/server.hpp"
#include "homthu/storage/delivery_log.hpp"
#include "homthu/storage/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace asio = boost::asio;
namespace common = homthu::common;
namespace hlog = homthu::common::log;

namespace {

constexpr const char* version = "0.1.0";

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: homthud [--config FILE] [--check]\n\n"
               "  --config FILE  configuration (default /etc/homthu/homthu.toml)\n"
               "  --check        validate the configuration and certificates, then exit\n"
               "  --version      print the version\n");
}

// Binding ports below 1024 needs root or CAP_NET_BIND_SERVICE; after that the
// daemon runs as server.user. Throws on failure: never continue as root when
// asked not to.
void drop_privileges(const std::string& user) {
  if (user.empty() || ::geteuid() != 0) {
    return;
  }
  errno = 0;
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) {
    throw std::runtime_error("server.user: no such user \"" + user + "\"");
  }
  if (::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
      ::setuid(pw->pw_uid) != 0) {
    throw std::runtime_error("server.user: cannot switch to \"" + user + "\": " + std::strerror(errno));
  }
  if (::setuid(0) == 0) {
    throw std::runtime_error("server.user: privileges could not be dropped");
  }
}

std::string endpoints_text(const common::listener_set& ls, const char* name) {
  std::string out;
  for (const auto& ep : ls.endpoints(name)) {
    if (!out.empty()) {
      out += ",";
    }
    out += (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
           ":" + std::to_string(ep.port());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a connection the peer reset must be an error, not the end of
  // the daemon: our sockets send with MSG_NOSIGNAL, but libldap writes to
  // slapd with write(2), and slapd restarting would otherwise kill homthud.
  std::signal(SIGPIPE, SIG_IGN);
  std::string config_path = "/etc/homthu/homthu.toml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a == "--check") {
      check_only = true;
    } else if (a == "--version") {
      std::printf("homthud %s\n", version);
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "homthud: unknown argument \"%s\"\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  common::config cfg;
  try {
    cfg = common::load_config(config_path);
  } catch (const common::config_error& e) {
    std::fprintf(stderr, "homthud: %s\n", e.what());
    return 2;
  }

  try {
    if (!cfg.log.file.empty()) {
      hlog::set_output_file(cfg.log.file);
    }
    hlog::set_level(cfg.log.level == "debug"  ? hlog::level::debug
                    : cfg.log.level == "warn" ? hlog::level::warn
                    : cfg.log.level == "error" ? hlog::level::error
                                               : hlog::level::info);

    std::shared_ptr<common::tls_provider> tls;
    if (!cfg.tls.cert.empty() || !cfg.tls.key.empty()) {
      tls = std::make_shared<common::tls_provider>(cfg.tls.cert, cfg.tls.key);
    }
    if (check_only) {
      homthu::smtp::check_dkim_keys(cfg);
      std::printf("homthud: %s is valid\n", config_path.c_str());
      return 0;
    }

    // Declared before the io_context so that they outlive every coroutine
    // frame the io_context destroys on exit.
    common::metrics metrics;
    std::unique_ptr<homthu::storage::store> store;
    std::unique_ptr<homthu::storage::delivery_log> delivery_log;
    std::unique_ptr<homthu::directory::ldap_directory> dir;
    std::unique_ptr<homthu::smtp::server> smtp;
    std::unique_ptr<homthu::imap::server> imap;
    std::unique_ptr<homthu::admin::server> admin;

    unsigned io_threads = cfg.server.io_threads ? cfg.server.io_threads
                                                : std::max(1u, std::thread::hardware_concurrency());
    asio::io_context io(static_cast<int>(io_threads));
    common::listener_set listeners(io, tls, &metrics);
    common::worker_pool workers(cfg.server.worker_threads);

    // Signals are caught from here on: a SIGTERM during start-up waits in
    // the queue and stops the daemon cleanly once it runs.
    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    asio::signal_set hup(io, SIGHUP);
    std::function<void()> wait_hup = [&] {
      hup.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) {
          return;
        }
        std::string err;
        if (tls && !tls->reload(err)) {
          hlog::error("tls.reload_failed", {{"error", err}});
        } else if (tls) {
          hlog::info("tls.reloaded", {{"cert", cfg.tls.cert}});
        }
        wait_hup();
      });
    };
    wait_hup();

    // Storage and directory are opened after binding, so that a port in use
    // is reported before any file is created, and after dropping privileges,
    // so that their files belong to the unprivileged user.
    auto opt = [&](const char* name, const std::vector<std::string>& addrs, bool implicit_tls) {
      common::listener_options o;
      o.name = name;
      o.addresses = addrs;
      o.implicit_tls = implicit_tls;
      o.max_connections = cfg.limits.max_connections;
      o.max_per_ip = cfg.limits.max_connections_per_ip;
      o.tls_handshakes_per_second = cfg.limits.tls_handshakes_per_second;
      return o;
    };

    // Listeners are bound first, with sessions that reach the servers
    // through the pointers declared above.
    using homthu::smtp::listener_kind;
    auto smtp_session = [&](listener_kind k) {
      return [&smtp, k](common::stream& s, const common::connection_info& i) { return smtp->session(s, i, k); };
    };
    auto smtp_reject = [&smtp](common::stream& s, const common::connection_info& i, std::string_view r) {
      return smtp->reject(s, i, r);
    };
    auto imap_session = [&imap](common::stream& s, const common::connection_info& i) { return imap->session(s, i); };
    auto imap_reject = [&imap](common::stream& s, const common::connection_info& i, std::string_view r) {
      return imap->reject(s, i, r);
    };
    auto admin_session = [&admin](common::stream& s, const common::connection_info& i) { return admin->session(s, i); };

    listeners.add(opt("smtp", cfg.listen.smtp, false), smtp_session(listener_kind::mx), smtp_reject);
    listeners.add(opt("submission", cfg.listen.submission, false), smtp_session(listener_kind::submission), smtp_reject);
    listeners.add(opt("smtps", cfg.listen.smtps, true), smtp_session(listener_kind::submissions), smtp_reject);
    listeners.add(opt("imap", cfg.listen.imap, false), imap_session, imap_reject);
    listeners.add(opt("imaps", cfg.listen.imaps, true), imap_session, imap_reject);
    listeners.add(opt("admin", cfg.listen.admin, true), admin_session);
    listeners.add(opt("admin_http", cfg.listen.admin_http, false),
                  [&admin](common::stream& s, const common::connection_info& i) { return admin->redirect_session(s, i); });

    drop_privileges(cfg.server.user);

    std::filesystem::create_directories(cfg.server.data_dir);
    store = homthu::storage::open_store(homthu::storage::store_options_from(cfg));
    // Never fatal when slapd is down: the directory answers "unavailable"
    // (temporary failures) and reconnects by itself.
    dir = homthu::directory::open_ldap(cfg);

    if (cfg.storage.delivery_log_days > 0) {
      homthu::storage::delivery_log_options dlo;
      dlo.path = homthu::storage::default_delivery_log_path(cfg.storage.path);
      dlo.retention = std::chrono::hours(24) * cfg.storage.delivery_log_days;
      dlo.fsync = cfg.storage.fsync;
      delivery_log = homthu::storage::open_delivery_log(dlo);
    }

    homthu::smtp::services smtp_services{cfg, *dir, *store, workers, tls};
    smtp_services.delivery_log = delivery_log.get();
    smtp = std::make_unique<homthu::smtp::server>(smtp_services);
    imap = std::make_unique<homthu::imap::server>(homthu::imap::services{cfg, *dir, *store, workers, tls});
    homthu::admin::services admin_services{cfg, *dir, *store, workers, tls, &metrics};
    admin_services.admin_dir = dir.get();
    admin_services.queue = &smtp->queue();
    admin_services.delivery_log = delivery_log.get();
    admin = std::make_unique<homthu::admin::server>(admin_services);

    stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) {
        return;
      }
      hlog::info("homthud.stopping", {{"signal", sig}, {"active", listeners.active()}});
      hup.cancel();
      listeners.stop();
      smtp->stop();
      imap->stop();
      admin->stop();
      // Let in-flight transactions finish, bounded by shutdown_grace.
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            auto deadline = std::chrono::steady_clock::now() + cfg.server.shutdown_grace;
            asio::steady_timer t(io);
            while (listeners.active() > 0 && std::chrono::steady_clock::now() < deadline) {
              t.expires_after(std::chrono::milliseconds(50));
              co_await t.async_wait(asio::use_awaitable);
            }
            if (listeners.active() > 0) {
              hlog::warn("homthud.grace_expired", {{"active", listeners.active()}});
            }
            io.stop();
          },
          asio::detached);
    });

    listeners.start();
    smtp->start_queue(io.get_executor());
    hlog::info("homthud.ready",
               {{"version", version},
                {"smtp", endpoints_text(listeners, "smtp")},
                {"submission", endpoints_text(listeners, "submission")},
                {"smtps", endpoints_text(listeners, "smtps")},
                {"imap", endpoints_text(listeners, "imap")},
                {"imaps", endpoints_text(listeners, "imaps")},
                {"admin", endpoints_text(listeners, "admin")},
                {"admin_http", endpoints_text(listeners, "admin_http")}});

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < io_threads; ++i) {
      threads.emplace_back([&io] { io.run(); });
    }
    io.run();
    for (auto& t : threads) {
      t.join();
    }
    workers.stop();
    workers.join();
    hlog::info("homthud.stopped");
    return 0;
  } catch (const common::config_error& e) {
    std::fprintf(stderr, "homthud: %s\n", e.what());
    hlog::error("homthud.start_failed", {{"error", e.what()}});
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "homthud: %s\n", e.what());
    hlog::error("homthud.start_failed", {{"error", e.what()}});
    return 1;
  }
}
