// The outbound queue runner. Input: queue records (trusted, written by our
// own sessions) and remote replies (untrusted, see client/). Invariants: a
// message is in flight at most once; per-destination concurrency never
// exceeds per_destination_concurrency; a recipient leaves "pending" only by
// a 2xx (delivered), a 5xx or the give-up time (failed, with a DSN unless
// NOTIFY=NEVER or the sender is <>); a 4xx or a connection failure is
// retried with exponential backoff (RFC 5321 §4.5.4.1); a message's record
// and body go only when no recipient is pending any more.
#include "runner.hpp"

#include "../client/client.hpp"
#include "../client/mx.hpp"
#include "../server/delivery.hpp"
#include "../server/events.hpp"
#include "dsn.hpp"
#include "homthu/common/address.hpp"
#include "homthu/common/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <map>
#include <set>

namespace homthu::smtp::detail {

namespace asio = boost::asio;

struct queue_runner::impl : std::enable_shared_from_this<impl> {
  impl(server_state& s, asio::any_io_executor ex)
      : st(s), strand(asio::make_strand(ex)), timer(strand) {}

  server_state& st;
  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  bool stopped = false;
  std::set<std::int64_t> in_flight;
  std::map<std::string, unsigned> per_destination;
  unsigned total = 0;
  static constexpr unsigned max_total = 20;

  std::int64_t backoff(std::uint32_t attempts) const {
    std::int64_t d = st.opts.first_retry_delay;
    for (std::uint32_t i = 1; i < attempts && d < st.opts.max_retry_delay; ++i) {
      d *= 2;
    }
    return std::min(d, st.opts.max_retry_delay);
  }

  client::options client_options(const std::string& domain) const {
    const auto& cfg = st.svc.cfg.smtp;
    client::options o;
    o.helo = st.hostname;
    const bool required = std::find(cfg.tls_required_domains.begin(), cfg.tls_required_domains.end(), domain) !=
                          cfg.tls_required_domains.end();
    o.require_tls = required;
    o.tls = common::make_client_tls_context(required);
    if (!cfg.relayhost.empty() && !cfg.relayhost_user.empty()) {
      o.auth_user = cfg.relayhost_user;
      std::ifstream f(cfg.relayhost_password_file);
      std::getline(f, o.auth_password);
      while (!o.auth_password.empty() && (o.auth_password.back() == '\r' || o.auth_password.back() == ' ')) {
        o.auth_password.pop_back();
      }
    }
    return o;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    common::log::info("smtp.queue_start");
    while (!stopped) {
      auto& q = *st.queue;
      const auto now = unix_now();
      auto due = co_await st.svc.workers.run([&q, now]() { return q.due(now, 200); });
      if (due) {
        for (auto& m : *due) {
          if (total >= max_total) {
            break;
          }
          if (in_flight.count(m.id) != 0) {
            continue;
          }
          in_flight.insert(m.id);
          ++total;
          asio::co_spawn(strand, process(std::move(m)), asio::detached);
        }
      } else {
        common::log::warn("smtp.queue_error", {{"error", due.error().message()}});
      }
      auto wait = co_await st.svc.workers.run([&q]() { return q.next_due(unix_now()); });
      std::int64_t secs = st.opts.queue_poll_seconds;
      if (wait) {
        secs = std::clamp<std::int64_t>(*wait, 1, secs);
      }
      timer.expires_after(std::chrono::seconds(secs));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Delivers the due recipients of one message, one destination at a time.
  asio::awaitable<void> process(storage::queue_message m) {
    auto self = shared_from_this();
    try {
      co_await process_inner(m);
    } catch (const std::exception& e) {
      common::log::error("smtp.queue_exception", {{"id", m.id}, {"error", e.what()}});
    }
    in_flight.erase(m.id);
    --total;
  }

  asio::awaitable<void> process_inner(storage::queue_message& m) {
    auto& q = *st.queue;
    const auto& cfg = st.svc.cfg.smtp;
    const auto id = m.id;
    auto body = co_await st.svc.workers.run([&q, id]() { return q.read_body(id); });
    if (!body) {
      common::log::error("smtp.queue_body_missing", {{"id", id}, {"error", body.error().message()}});
      co_return;
    }
    const auto message_id = find_message_id(std::string_view(*body).substr(0, 64u << 10));
    if (st.signer) {
      // RFC 6376: sign with d= the From: domain when it is one of ours;
      // mail we only forward keeps its author's signatures and gets none of
      // ours. Signed on each attempt (cheap next to the connection) so that
      // a key rotation applies to mail already queued.
      auto& state = st;
      auto& text = *body;
      auto sign = [&state, &text]() {
        std::string error;
        const auto facts = scan_headers(std::string_view(text).substr(0, 64u << 10));
        if (facts.from.size() != 1) {
          return std::pair<std::string, std::string>{};
        }
        const auto parts = common::split_address(facts.from.front());
        if (!parts || !state.is_local_domain(parts->domain)) {
          return std::pair<std::string, std::string>{};
        }
        auto sig = state.signer->sign(text, common::to_lower_ascii(parts->domain), &error);
        return std::pair<std::string, std::string>{std::move(sig), std::move(error)};
      };
      auto [sig, error] = co_await st.svc.workers.run(sign);
      if (!error.empty()) {
        common::log::warn("smtp.dkim_sign_failed", {{"id", id}, {"error", error}});
      }
      body->insert(0, sig);
    }
    auto now = unix_now();
    // Group due recipients by destination domain (or all to the relayhost).
    std::map<std::string, std::vector<storage::queue_recipient*>> groups;
    for (auto& r : m.recipients) {
      if (r.state != storage::recipient_state::pending || r.next_attempt > now) {
        continue;
      }
      auto parts = common::split_address(r.address);
      groups[parts ? common::to_lower_ascii(parts->domain) : std::string{}].push_back(&r);
    }
    std::vector<dsn_recipient> failed_notices, delivered_notices;
    for (auto& [domain, rcpts] : groups) {
      const std::string dest = cfg.relayhost.empty() ? domain : cfg.relayhost;
      if (per_destination[dest] >= std::max(1u, cfg.per_destination_concurrency)) {
        continue;  // stays due; the next pass takes it
      }
      ++per_destination[dest];
      std::vector<std::pair<std::string, unsigned short>> hosts;
      std::string dns_error;
      bool dns_permanent = false;
      if (!cfg.relayhost.empty()) {
        auto colon = cfg.relayhost.rfind(':');
        std::string host = cfg.relayhost.substr(0, colon);
        unsigned short port = 25;
        if (colon != std::string::npos) {
          port = static_cast<unsigned short>(std::stoi(cfg.relayhost.substr(colon + 1)));
        }
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
          host = host.substr(1, host.size() - 2);
        }
        hosts.emplace_back(host, port);
      } else if (domain.size() > 2 && domain.front() == '[') {
        // Address literal (RFC 5321 §4.1.3): connect to it directly.
        auto lit = domain.substr(1, domain.size() - 2);
        if (lit.rfind("ipv6:", 0) == 0) {
          lit = lit.substr(5);
        }
        hosts.emplace_back(lit, st.opts.mx_port);
      } else {
        const auto& servers = cfg.dns_servers;
        auto mx = co_await st.svc.workers.run([&domain, &servers]() { return client::lookup_mx(domain, servers); });
        if (mx.st == client::mx_result::status::ok) {
          for (auto& h : mx.hosts) {
            hosts.emplace_back(h, st.opts.mx_port);
          }
        } else {
          dns_error = mx.error;
          dns_permanent = mx.st == client::mx_result::status::no_domain;
        }
      }
      client::result res;
      client::envelope env;
      if (dns_error.empty()) {
        env.sender = m.sender;
        env.envid = m.envid;
        env.ret_full = m.ret_full;
        env.eight_bit = m.eight_bit;
        env.binary = m.binary;
        env.smtputf8 = m.smtputf8;
        for (auto* r : rcpts) {
          env.recipients.push_back(r->address);
        }
        res = co_await client::deliver(strand, hosts, env, *body, client_options(domain));
      }
      --per_destination[dest];
      now = unix_now();
      for (std::size_t i = 0; i < rcpts.size(); ++i) {
        auto* r = rcpts[i];
        client::reply rep;
        if (!dns_error.empty()) {
          rep = client::reply{dns_permanent ? 550 : 0, dns_permanent ? "550 5.1.2 " + dns_error : dns_error};
        } else if (res.per_recipient[i].code != 0 && (res.session.code == 0 || res.session.ok())) {
          rep = res.per_recipient[i];
        } else {
          rep = res.session;
        }
        if (!res.connected && dns_error.empty() && rep.code == 0 && rep.text.empty()) {
          rep.text = "no server for " + domain + " answered";
        }
        const std::string mta = res.host.empty() ? std::string{} : "dns; " + res.host;
        storage::recipient_state state = storage::recipient_state::pending;
        std::int64_t next = 0;
        if (rep.ok()) {
          state = storage::recipient_state::delivered;
        } else if (!rep.temporary()) {
          state = storage::recipient_state::failed;
        } else if (now - m.created >= cfg.queue_lifetime.count()) {
          state = storage::recipient_state::failed;
          rep.text = "giving up after " + std::to_string(cfg.queue_lifetime.count() / 3600) + " hours: " + rep.text;
        } else {
          next = now + backoff(r->attempts + 1);
        }
        const auto rid = r->id;
        const auto text = rep.text;
        co_await st.svc.workers.run([&q, rid, state, now, next, &text, &mta]() {
          return q.record_attempt(rid, state, now, next, text, mta);
        });
        r->state = state;
        common::log::info("smtp.outbound", {{"id", id}, {"rcpt", r->address}, {"code", rep.code},
                                            {"state", state == storage::recipient_state::delivered ? "delivered"
                                                      : state == storage::recipient_state::failed  ? "failed"
                                                                                                   : "deferred"},
                                            {"reply", rep.text}});
        std::string status = "4.4.7";
        if (!rep.temporary()) {
          status = rep.code >= 500 ? "5.0.0" : "2.0.0";
          // Use the remote's enhanced code when it gave one ("550 5.1.1 …").
          if (rep.text.size() > 9 && rep.text[4] >= '2' && rep.text[4] <= '5' && rep.text[5] == '.') {
            const auto sp = rep.text.find(' ', 4);
            status = rep.text.substr(4, sp - 4);
          }
        }
        dsn_recipient d{r->address, r->orcpt,
                        state == storage::recipient_state::delivered ? "delivered" : "failed", status,
                        (rep.code ? "smtp; " : "x-homthu; ") + rep.text, mta};
        const bool failure_notice = state == storage::recipient_state::failed && !(r->notify & storage::notify_never) &&
                                    (r->notify == storage::notify_default || (r->notify & storage::notify_failure));
        if (failure_notice) {
          failed_notices.push_back(d);
        } else if (state == storage::recipient_state::delivered && (r->notify & storage::notify_success)) {
          delivered_notices.push_back(d);
        }
        if (auto* log = st.svc.delivery_log) {
          storage::delivery_event e;
          e.queue_id = id;
          e.kind = std::string(state == storage::recipient_state::delivered ? storage::delivery_kind::relayed
                               : state == storage::recipient_state::failed  ? storage::delivery_kind::bounced
                                                                            : storage::delivery_kind::deferred);
          e.message_id = message_id;
          e.sender = m.sender;
          e.recipient = r->address;
          e.remote = res.host;
          e.reply = rep.code ? rep.text : (rep.text.empty() ? std::string("no answer") : rep.text);
          e.size = m.size;
          if (state == storage::recipient_state::pending) {
            e.next_attempt_ms = next * 1000;
          } else if (state == storage::recipient_state::failed) {
            e.detail = status + (m.sender.empty()     ? "; no DSN (null sender)"
                                 : failure_notice     ? "; DSN to " + common::to_lower_ascii(m.sender)
                                                      : "; no DSN (NOTIFY)");
          }
          log->record(std::move(e));
        }
      }
    }
    const bool any_pending = std::any_of(m.recipients.begin(), m.recipients.end(), [](const auto& r) {
      return r.state == storage::recipient_state::pending;
    });
    co_await notify(m, *body, failed_notices);
    co_await notify(m, *body, delivered_notices);
    // RFC 3461 §4.1 DELAY: one warning once the message is older than
    // delay_warning and still pending.
    if (any_pending && !m.delay_notified && now - m.created >= cfg.delay_warning.count()) {
      std::vector<dsn_recipient> delayed;
      for (const auto& r : m.recipients) {
        if (r.state == storage::recipient_state::pending && !(r.notify & storage::notify_never) &&
            (r.notify == storage::notify_default || (r.notify & storage::notify_delay))) {
          delayed.push_back({r.address, r.orcpt, "delayed", "4.4.7", "x-homthu; still trying", ""});
        }
      }
      co_await notify(m, *body, delayed);
      co_await st.svc.workers.run([&q, id]() { return q.set_delay_notified(id); });
    }
    if (!any_pending) {
      co_await st.svc.workers.run([&q, id]() { return q.remove(id); });
    }
  }

  asio::awaitable<void> notify(const storage::queue_message& m, const std::string& body,
                               const std::vector<dsn_recipient>& rcpts) {
    if (rcpts.empty() || m.sender.empty()) {
      co_return;  // RFC 5321 §4.5.5 / §6.1: never a DSN to <>
    }
    dsn_input d;
    d.reporting_mta = st.hostname;
    d.sender = common::to_lower_ascii(m.sender);
    d.envid = m.envid;
    d.received_from = m.received_from;
    d.arrival = m.created;
    d.recipients = rcpts;
    d.headers_only = !m.ret_full || body.size() > (1u << 20);
    d.original = d.headers_only ? header_block(body) : body;
    const auto msg = make_dsn(d, unix_now());
    auto& st_ref = st;
    auto ec = co_await st.svc.workers.run([&st_ref, &d, &msg]() { return send_notice(st_ref, d.sender, msg); });
    common::log::info("smtp.dsn", {{"id", m.id}, {"to", d.sender}, {"action", rcpts.front().action},
                                   {"error", ec ? ec.message() : std::string{}}});
  }
};

queue_runner::queue_runner(server_state& st, asio::any_io_executor ex) : impl_(std::make_shared<impl>(st, ex)) {}

queue_runner::~queue_runner() { stop(); }

void queue_runner::start() {
  auto i = impl_;
  {
    std::lock_guard lock(i->st.wake_mu);
    std::weak_ptr<impl> weak = i;
    i->st.wake_queue = [weak] {
      if (auto p = weak.lock()) {
        asio::post(p->strand, [p] { p->timer.cancel(); });
      }
    };
  }
  asio::co_spawn(i->strand, i->loop(), asio::detached);
}

void queue_runner::stop() {
  auto i = impl_;
  {
    std::lock_guard lock(i->st.wake_mu);
    i->st.wake_queue = nullptr;
  }
  asio::post(i->strand, [i] {
    i->stopped = true;
    i->timer.cancel();
  });
}

}  // namespace homthu::smtp::detail
