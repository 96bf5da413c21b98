// Outbound SMTP client. Input: replies from remote servers, untrusted: a
// reply is bounded (100 lines of 4096 octets), its text is only logged and
// quoted in DSNs after control characters are removed. Invariants: every
// operation has a deadline; we never send a bare CR or LF (S2); TLS failure
// on a destination that requires TLS is a temporary failure, never a
// fallback to plain text.
#include "client.hpp"

#include "homthu/smtp/proto/command.hpp"
#include "homthu/smtp/proto/sasl.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

namespace homthu::smtp::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class connection {
 public:
  explicit connection(asio::any_io_executor ex) : plain_(std::in_place, ex) {}

  asio::awaitable<bool> connect(const std::string& host, unsigned short port, std::chrono::seconds timeout) {
    tcp::resolver resolver(plain_->get_executor());
    boost::system::error_code ec;
    auto eps = co_await resolver.async_resolve(host, std::to_string(port),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return false;
    }
    plain_->expires_after(timeout);
    co_await plain_->async_connect(eps, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  asio::awaitable<bool> write(const std::string& data, std::chrono::seconds timeout) {
    boost::system::error_code ec;
    if (tls_) {
      beast::get_lowest_layer(*tls_).expires_after(timeout);
      co_await asio::async_write(*tls_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    } else {
      plain_->expires_after(timeout);
      co_await asio::async_write(*plain_, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !ec;
  }

  asio::awaitable<std::optional<std::string>> read_line(std::chrono::seconds timeout) {
    for (;;) {
      const auto lf = buf_.find('\n');
      if (lf != std::string::npos) {
        std::string line = buf_.substr(0, lf);
        buf_.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') {
          line.pop_back();
        }
        co_return line;
      }
      if (buf_.size() > 4096) {
        co_return std::nullopt;
      }
      char tmp[4096];
      boost::system::error_code ec;
      std::size_t n = 0;
      if (tls_) {
        beast::get_lowest_layer(*tls_).expires_after(timeout);
        n = co_await tls_->async_read_some(asio::buffer(tmp), asio::redirect_error(asio::use_awaitable, ec));
      } else {
        plain_->expires_after(timeout);
        n = co_await plain_->async_read_some(asio::buffer(tmp), asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec || n == 0) {
        co_return std::nullopt;
      }
      buf_.append(tmp, n);
    }
  }

  // A whole (possibly multi-line) reply; lines without their codes go to
  // `lines` (for EHLO keywords).
  asio::awaitable<reply> read_reply(std::chrono::seconds timeout, std::vector<std::string>* lines = nullptr) {
    reply r;
    for (int i = 0; i < 100; ++i) {
      auto l = co_await read_line(timeout);
      if (!l || l->size() < 3) {
        co_return reply{};
      }
      int code = 0;
      for (int k = 0; k < 3; ++k) {
        const char c = (*l)[k];
        if (c < '0' || c > '9') {
          co_return reply{};
        }
        code = code * 10 + (c - '0');
      }
      std::string text = l->size() > 4 ? l->substr(4) : std::string{};
      for (auto& c : text) {
        if (static_cast<unsigned char>(c) < 0x20) {
          c = ' ';
        }
      }
      if (lines) {
        lines->push_back(text);
      }
      if (!r.text.empty()) {
        r.text += " / ";
      }
      r.text += std::to_string(code) + " " + text;
      r.code = code;
      if (l->size() == 3 || (*l)[3] == ' ') {
        co_return r;
      }
    }
    co_return reply{};
  }

  asio::awaitable<bool> start_tls(asio::ssl::context& ctx, const std::string& host, bool verify) {
    buf_.clear();
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*plain_), ctx);
    plain_.reset();
    SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
    if (verify) {
      tls_->set_verify_mode(asio::ssl::verify_peer);
      tls_->set_verify_callback(asio::ssl::host_name_verification(host));
    } else {
      tls_->set_verify_mode(asio::ssl::verify_none);
    }
    boost::system::error_code ec;
    beast::get_lowest_layer(*tls_).expires_after(std::chrono::seconds(60));
    co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  bool is_tls() const { return tls_ != nullptr; }

  void close() {
    boost::system::error_code ec;
    if (tls_) {
      beast::get_lowest_layer(*tls_).socket().close(ec);
    } else if (plain_) {
      plain_->socket().close(ec);
    }
  }

 private:
  std::optional<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::string buf_;
};

bool has_keyword(const std::vector<std::string>& kw, std::string_view k) {
  for (const auto& line : kw) {
    std::string u;
    for (char c : line.substr(0, line.find(' '))) {
      u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (u == k) {
      return true;
    }
  }
  return false;
}

bool auth_offers_plain(const std::vector<std::string>& kw) {
  for (const auto& line : kw) {
    std::string u;
    for (char c : line) {
      u.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (u.rfind("AUTH ", 0) == 0 && u.find(" PLAIN") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string encode_data(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 50 + 8);
  bool bol = true;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r' || c == '\n') {
      // CRLF, bare CR and bare LF all end a line as CRLF.
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
        ++i;
      }
      out += "\r\n";
      bol = true;
      continue;
    }
    if (bol && c == '.') {
      out.push_back('.');  // RFC 5321 §4.5.2
    }
    out.push_back(c);
    bol = false;
  }
  if (!bol) {
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}

asio::awaitable<result> deliver(asio::any_io_executor ex, const std::vector<std::pair<std::string, unsigned short>>& hosts,
                                const envelope& env, const std::string& body, const options& opts) {
  result res;
  res.per_recipient.resize(env.recipients.size());
  for (const auto& [host, port] : hosts) {
    connection c(ex);
    if (!co_await c.connect(host, port, opts.connect_timeout)) {
      res.session = reply{0, "connect to " + host + ":" + std::to_string(port) + " failed"};
      continue;
    }
    auto greet = co_await c.read_reply(opts.command_timeout);
    if (!greet.ok()) {
      res.session = greet.code ? greet : reply{0, "no greeting from " + host};
      c.close();
      continue;  // RFC 5321 §5.1: try the next MX
    }
    res.connected = true;
    res.host = host;
    std::vector<std::string> kw;
    if (!co_await c.write("EHLO " + opts.helo + "\r\n", opts.command_timeout)) {
      res.session = reply{0, "connection lost"};
      co_return res;
    }
    auto ehlo = co_await c.read_reply(opts.command_timeout, &kw);
    if (!ehlo.ok()) {
      kw.clear();
      co_await c.write("HELO " + opts.helo + "\r\n", opts.command_timeout);
      auto helo = co_await c.read_reply(opts.command_timeout);
      if (!helo.ok()) {
        res.session = helo;
        c.close();
        co_return res;
      }
    }
    if (opts.tls && has_keyword(kw, "STARTTLS")) {
      co_await c.write("STARTTLS\r\n", opts.command_timeout);
      auto st = co_await c.read_reply(opts.command_timeout);
      if (st.ok()) {
        if (!co_await c.start_tls(*opts.tls, host, opts.require_tls)) {
          res.session = reply{0, "TLS handshake with " + host + " failed"};
          c.close();
          co_return res;
        }
        kw.clear();
        co_await c.write("EHLO " + opts.helo + "\r\n", opts.command_timeout);
        auto again = co_await c.read_reply(opts.command_timeout, &kw);
        if (!again.ok()) {
          res.session = again;
          c.close();
          co_return res;
        }
      } else if (opts.require_tls) {
        res.session = reply{0, "STARTTLS refused by " + host + ": " + st.text};
        c.close();
        co_return res;
      }
    }
    if (opts.require_tls && !c.is_tls()) {
      res.session = reply{0, host + " does not offer STARTTLS and TLS is required"};
      c.close();
      co_return res;
    }
    if (!opts.auth_user.empty() && auth_offers_plain(kw)) {
      const std::string raw = std::string(1, '\0') + opts.auth_user + std::string(1, '\0') + opts.auth_password;
      co_await c.write("AUTH PLAIN " + proto::base64_encode(raw) + "\r\n", opts.command_timeout);
      auto a = co_await c.read_reply(opts.command_timeout);
      if (!a.ok()) {
        res.session = a;
        c.close();
        co_return res;
      }
    }
    const bool dsn = has_keyword(kw, "DSN");
    std::string mail = "MAIL FROM:<" + env.sender + ">";
    if (has_keyword(kw, "SIZE")) {
      mail += " SIZE=" + std::to_string(body.size());
    }
    // RFC 3030 §3: binary content goes only to a server offering
    // BINARYMIME, in BDAT chunks; elsewhere it is refused (not converted:
    // re-encoding would break DKIM signatures), which bounces it.
    if (env.binary) {
      if (!has_keyword(kw, "BINARYMIME") || !has_keyword(kw, "CHUNKING")) {
        res.session = reply{554, "554 5.6.3 " + host + " does not support BINARYMIME; conversion is not done"};
        c.close();
        co_return res;
      }
      mail += " BODY=BINARYMIME";
    } else if (env.eight_bit && has_keyword(kw, "8BITMIME")) {
      mail += " BODY=8BITMIME";
    }
    if (env.smtputf8) {
      if (!has_keyword(kw, "SMTPUTF8")) {
        // RFC 6531 §3.4: cannot be downgraded here.
        res.session = reply{553, "553 5.6.7 " + host + " does not support SMTPUTF8"};
        c.close();
        co_return res;
      }
      mail += " SMTPUTF8";
    }
    if (dsn) {
      mail += env.ret_full ? " RET=FULL" : " RET=HDRS";
      if (!env.envid.empty()) {
        mail += " ENVID=" + proto::xtext_encode(env.envid);
      }
    }
    co_await c.write(mail + "\r\n", opts.command_timeout);
    auto m = co_await c.read_reply(opts.command_timeout);
    if (!m.ok()) {
      res.session = m;
      c.close();
      co_return res;
    }
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
      co_await c.write("RCPT TO:<" + env.recipients[i] + ">\r\n", opts.command_timeout);
      res.per_recipient[i] = co_await c.read_reply(opts.command_timeout);
      if (res.per_recipient[i].ok()) {
        ++accepted;
      }
    }
    if (accepted == 0) {
      co_await c.write("QUIT\r\n", opts.command_timeout);
      c.close();
      co_return res;
    }
    reply final;
    if (env.binary) {
      // One chunk: BDAT n LAST, the octets as they are (RFC 3030 §2).
      if (!co_await c.write("BDAT " + std::to_string(body.size()) + " LAST\r\n" + body, opts.data_timeout)) {
        final = reply{0, "connection lost during BDAT"};
      } else {
        final = co_await c.read_reply(opts.data_timeout);
      }
    } else {
      co_await c.write("DATA\r\n", opts.command_timeout);
      auto d = co_await c.read_reply(opts.command_timeout);
      if (d.code != 354) {
        final = d;
      } else if (!co_await c.write(encode_data(body), opts.data_timeout)) {
        final = reply{0, "connection lost during DATA"};
      } else {
        final = co_await c.read_reply(opts.data_timeout);  // RFC 5321 §4.5.3.2.6: 10 minutes
      }
    }
    for (auto& r : res.per_recipient) {
      if (r.ok()) {
        r = final;
      }
    }
    if (final.code != 0) {
      co_await c.write("QUIT\r\n", opts.command_timeout);
    }
    c.close();
    co_return res;
  }
  co_return res;
}

}  // namespace homthu::smtp::client
