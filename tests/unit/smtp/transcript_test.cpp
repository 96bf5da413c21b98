// Transcript tests: each file under transcripts/ is one scenario played
// against a real session over loopback TCP (STYLE.md "Tests"). Format:
//
//   # listener: mx | submission | submissions
//   # users: an@thainguyen.gov.vn (secret), binh@thainguyen.gov.vn (pw)
//   # alias: an.nguyen@thainguyen.gov.vn -> an@thainguyen.gov.vn
//   # send_as: an@thainguyen.gov.vn -> vanphong@thainguyen.gov.vn
//   # quota: an@thainguyen.gov.vn 1000
//   # disabled: an@thainguyen.gov.vn
//   # forward: an@thainguyen.gov.vn -> an@example.org
//   # list: all@thainguyen.gov.vn members an@thainguyen.gov.vn,binh@thainguyen.gov.vn
//   # config: max_recipients=3 max_message_size=1000 max_errors=5 max_junk=10 trusted=127.0.0.0/8
//   C: line sent with CRLF
//   C! raw bytes with escapes \r \n \0 \t \\ and no CRLF added
//   S: glob pattern for one reply line (* and ?)
//   @ starttls | closed | big N (N octets of lines) | sleep MS
//   @ delivered ACCOUNT-ID N | delivered-total N | queued N | open-spools N
//   @ contains ACCOUNT-ID TEXT | not-contains ACCOUNT-ID TEXT
//   @ directory down|up | store fail-deliver|fail-spool|fail-writes|ok
#include "harness.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace homthu::smtp::test {
namespace {

namespace fs = std::filesystem;

fs::path transcript_dir() { return fs::path(HOMTHU_UNIT_DIR) / "transcripts"; }

std::vector<std::string> transcript_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(transcript_dir())) {
    if (e.path().extension() == ".txt") {
      out.push_back(e.path().stem().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool glob(std::string_view pat, std::string_view s) {
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[i])) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') {
    ++p;
  }
  return p == pat.size();
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      switch (s[++i]) {
        case 'r': out.push_back('\r'); break;
        case 'n': out.push_back('\n'); break;
        case '0': out.push_back('\0'); break;
        case 't': out.push_back('\t'); break;
        default: out.push_back(s[i]); break;
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) {
    s.pop_back();
  }
  while (!s.empty() && s.front() == ' ') {
    s.erase(0, 1);
  }
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    item = trim(item);
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

class transcript : public ::testing::TestWithParam<std::string> {};

TEST_P(transcript, plays) {
  std::ifstream f(transcript_dir() / (GetParam() + ".txt"));
  ASSERT_TRUE(f) << GetParam();
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) {
    if (!l.empty() && l.back() == '\r') {
      l.pop_back();
    }
    lines.push_back(l);
  }
  harness h;
  listener_kind kind = listener_kind::mx;
  for (const auto& l : lines) {
    if (l.rfind("# ", 0) != 0) {
      continue;
    }
    const auto colon = l.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const auto key = trim(l.substr(2, colon - 2));
    const auto val = trim(l.substr(colon + 1));
    if (key == "listener") {
      kind = val == "submission" ? listener_kind::submission
             : val == "submissions" ? listener_kind::submissions : listener_kind::mx;
    } else if (key == "users") {
      for (const auto& u : split(val, ',')) {
        const auto open = u.find('(');
        h.dir.add_user(trim(u.substr(0, open)), u.substr(open + 1, u.find(')') - open - 1));
      }
    } else if (key == "alias" || key == "send_as" || key == "forward") {
      const auto arrow = val.find("->");
      const auto left = trim(val.substr(0, arrow));
      const auto right = trim(val.substr(arrow + 2));
      if (key == "alias") {
        h.dir.account(right).aliases.push_back(left);
      } else if (key == "send_as") {
        h.dir.account(left).send_as.push_back(right);
      } else {
        h.dir.account(left).forward_to.push_back(right);
      }
    } else if (key == "dns") {
      // "# dns: NAME TYPE RECORD…" (RECORD is the rest of the line)
      auto parts = split(val, ' ');
      const auto& t = parts.at(1);
      const auto type = t == "TXT" ? dns_type::txt : t == "A" ? dns_type::a : t == "MX" ? dns_type::mx
                        : t == "AAAA" ? dns_type::aaaa : dns_type::ptr;
      const auto rest = trim(val.substr(val.find(t, parts.at(0).size()) + t.size()));
      h.dns->set(parts.at(0), type, {rest});
    } else if (key == "peer") {
      h.peer_ip = val;
    } else if (key == "dns-down") {
      h.dns->down = true;
    } else if (key == "quota") {
      auto parts = split(val, ' ');
      h.dir.account(parts[0]).quota_bytes = std::stoull(parts[1]);
    } else if (key == "disabled") {
      h.dir.account(val).enabled = false;
    } else if (key == "list") {
      auto parts = split(val, ' ');
      const auto& p = parts.at(1);
      auto policy = p == "members" ? directory::post_policy::members
                    : p == "authenticated" ? directory::post_policy::authenticated
                    : p == "moderators" ? directory::post_policy::moderators : directory::post_policy::anyone;
      h.dir.add_list(parts.at(0), policy, split(parts.at(2), ','),
                     parts.size() > 3 ? split(parts[3], ',') : std::vector<std::string>{});
    } else if (key == "config") {
      for (const auto& kv : split(val, ' ')) {
        const auto eq = kv.find('=');
        const auto k = kv.substr(0, eq);
        const auto v = kv.substr(eq + 1);
        if (k == "max_recipients") {
          h.cfg.smtp.max_recipients = std::stoul(v);
        } else if (k == "max_message_size") {
          h.cfg.smtp.max_message_size = std::stoull(v);
        } else if (k == "max_errors") {
          h.cfg.smtp.max_errors = std::stoul(v);
        } else if (k == "max_junk") {
          h.cfg.smtp.max_junk_commands = std::stoul(v);
        } else if (k == "trusted") {
          h.cfg.smtp.trusted_networks.push_back(v);
        } else if (k == "messages_per_hour_per_account") {
          h.cfg.smtp.messages_per_hour_per_account = std::stoul(v);
        } else if (k == "messages_per_ip_per_hour") {
          h.opts.messages_per_ip_per_hour = std::stoul(v);
        } else if (k == "min_data_rate_grace_ms") {
          h.opts.min_data_rate_grace = std::chrono::milliseconds(std::stoul(v));
        } else if (k == "enforce_dmarc") {
          h.cfg.smtp.enforce_dmarc = v == "1";
        } else if (k == "reject_unknown_client_hostname") {
          h.cfg.smtp.reject_unknown_client_hostname = v == "1";
        } else if (k == "command_timeout") {
          h.cfg.smtp.command_timeout = std::chrono::seconds(std::stoul(v));
        } else {
          FAIL() << "unknown config key " << k;
        }
      }
    }
  }
  h.start(kind);
  client c(h.port(), kind == listener_kind::submissions);
  int n = 0;
  for (const auto& l : lines) {
    ++n;
    const auto where = GetParam() + ".txt:" + std::to_string(n) + ": " + l;
    if (l.empty() || l[0] == '#') {
      continue;
    }
    if (l == "C:") {
      c.line("");
    } else if (l.rfind("C: ", 0) == 0) {
      c.line(l.substr(3));
    } else if (l.rfind("C! ", 0) == 0) {
      c.send(unescape(l.substr(3)));
    } else if (l.rfind("S: ", 0) == 0) {
      auto got = c.read_line();
      ASSERT_TRUE(got.has_value()) << where << "\n  got: <connection closed or timed out>";
      ASSERT_TRUE(glob(l.substr(3), *got)) << where << "\n  got: " << *got;
    } else if (l.rfind("@ ", 0) == 0) {
      auto parts = split(l.substr(2), ' ');
      const auto& cmd = parts.at(0);
      // The directive's text after its argument `arg`, escapes undone.
      auto rest_after = [&l](const std::string& arg) { return unescape(trim(l.substr(l.find(arg) + arg.size()))); };
      if (cmd == "starttls") {
        c.start_tls();
      } else if (cmd == "closed") {
        auto got = c.read_line();
        ASSERT_FALSE(got.has_value()) << where << "\n  got: " << *got;
      } else if (cmd == "big") {
        const auto size = std::stoull(parts.at(1));
        // Exactly `size` octets of 78-octet lines, ending in CRLF.
        std::string body;
        while (size - body.size() >= 80) {
          body += std::string(76, 'x') + "\r\n";
        }
        body += std::string(size - body.size() - 2, 'y') + "\r\n";
        c.send(body);
      } else if (cmd == "sleep") {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::stoul(parts.at(1))));
      } else if (cmd == "delivered") {
        EXPECT_EQ(h.store.messages_for(parts.at(1)).size(), std::stoul(parts.at(2))) << where;
      } else if (cmd == "delivered-total") {
        EXPECT_EQ(h.store.messages().size(), std::stoul(parts.at(1))) << where;
      } else if (cmd == "queued") {
        auto q = h.srv().queue().list();
        ASSERT_TRUE(q) << where;
        EXPECT_EQ(q->size(), std::stoul(parts.at(1))) << where;
      } else if (cmd == "open-spools") {
        EXPECT_EQ(h.store.open_spools.load(), std::stoi(parts.at(1))) << where;
      } else if (cmd == "contains" || cmd == "not-contains") {
        auto msgs = h.store.messages_for(parts.at(1));
        ASSERT_FALSE(msgs.empty()) << where;
        const auto text = rest_after(parts.at(1));
        const bool has = msgs.back().content.find(text) != std::string::npos;
        EXPECT_EQ(has, cmd == "contains") << where << "\n  message:\n" << msgs.back().content;
      } else if (cmd == "parsed-ahead") {
        // The store was given a parse of the content made ahead, and told
        // where in the stored message that content starts: just after our
        // trace fields, at `text`. "none": no parse came with it.
        auto msgs = h.store.messages_for(parts.at(1));
        ASSERT_FALSE(msgs.empty()) << where;
        const auto& m = msgs.back();
        if (parts.at(2) == "none") {
          EXPECT_FALSE(m.ahead_prefix.has_value()) << where;
          continue;
        }
        ASSERT_TRUE(m.ahead_prefix.has_value()) << where;
        const auto text = rest_after(parts.at(1));
        ASSERT_LE(*m.ahead_prefix, m.content.size()) << where;
        EXPECT_EQ(m.content.substr(*m.ahead_prefix, text.size()), text) << where << "\n  message:\n" << m.content;
        EXPECT_LT(m.content.find("Authentication-Results: mail.thainguyen.gov.vn;"), *m.ahead_prefix)
            << where << ": our trace field is not in the prefix";
      } else if (cmd == "directory") {
        h.dir.set_unavailable(parts.at(1) == "down");
      } else if (cmd == "store") {
        h.store.fail_deliver = parts.at(1) == "fail-deliver";
        h.store.fail_spool = parts.at(1) == "fail-spool";
        h.store.fail_writes = parts.at(1) == "fail-writes";
      } else {
        FAIL() << where << ": unknown directive";
      }
    } else {
      FAIL() << where << ": unknown line";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(files, transcript, ::testing::ValuesIn(transcript_files()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) {
                               ch = '_';
                             }
                           }
                           return n;
                         });

}  // namespace
}  // namespace homthu::smtp::test
