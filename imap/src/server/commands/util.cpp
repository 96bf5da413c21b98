// Shared by the handlers: flag names, storage errors as response codes
// (RFC 5530), and sequence-set resolution against the selected mailbox.
#include "commands.hpp"

#include "homthu/imap/proto/lexer.hpp"

namespace homthu::imap {

namespace {

struct system_flag {
  const char* name;
  std::uint32_t bit;
};
constexpr system_flag system_flags[] = {
    {"\\Answered", storage::flag_answered}, {"\\Flagged", storage::flag_flagged},
    {"\\Deleted", storage::flag_deleted},   {"\\Seen", storage::flag_seen},
    {"\\Draft", storage::flag_draft},
};

}  // namespace

std::string format_flags(const storage::flags& f, bool recent) {
  std::string out = "(";
  for (const auto& sf : system_flags) {
    if (f.system & sf.bit) {
      if (out.size() > 1) {
        out.push_back(' ');
      }
      out += sf.name;
    }
  }
  if (recent) {
    out += out.size() > 1 ? " \\Recent" : "\\Recent";
  }
  for (const auto& k : f.keywords) {
    if (out.size() > 1) {
      out.push_back(' ');
    }
    out += k;
  }
  out.push_back(')');
  return out;
}

bool parse_flags(const std::vector<std::string>& names, storage::flags& out, std::string& error) {
  for (const auto& n : names) {
    if (!n.empty() && n[0] == '\\') {
      bool found = false;
      for (const auto& sf : system_flags) {
        if (proto::iequals(n, sf.name)) {
          out.system |= sf.bit;
          found = true;
        }
      }
      // \Recent cannot be stored (RFC 3501 §2.3.2); ignore it as Dovecot does.
      if (!found && !proto::iequals(n, "\\Recent")) {
        error = "Invalid system flag " + n.substr(0, 64);
        return false;
      }
      continue;
    }
    bool dup = false;
    for (const auto& k : out.keywords) {
      dup = dup || proto::iequals(k, n);
    }
    if (!dup) {
      if (out.keywords.size() >= 100) {
        error = "Too many keywords";
        return false;
      }
      out.keywords.push_back(n);
    }
  }
  return true;
}

reply storage_failure(const boost::system::error_code& ec, std::string_view what) {
  using storage::error;
  std::string w(what);
  if (ec == error::not_found) {
    return reply::no("[NONEXISTENT] " + w + ": no such mailbox");
  }
  if (ec == error::exists) {
    return reply::no("[ALREADYEXISTS] " + w + ": mailbox exists");
  }
  if (ec == error::invalid_name) {
    return reply::no("[CANNOT] " + w + ": invalid mailbox name");
  }
  if (ec == error::over_quota) {
    return reply::no("[OVERQUOTA] " + w + ": quota exceeded");
  }
  if (ec == error::too_big) {
    return reply::no("[TOOBIG] " + w + ": message too big");
  }
  if (ec == error::not_allowed) {
    return reply::no("[CANNOT] " + w + ": not allowed");
  }
  if (storage::is_temporary(ec)) {
    return reply::no("[UNAVAILABLE] " + w + ": temporary failure, try again");
  }
  return reply::no("[SERVERBUG] " + w + ": internal error");
}

namespace cmd {

bool resolve_set(session& s, const proto::seqset& set, bool uid, std::vector<std::uint32_t>& indexes) {
  indexes.clear();
  if (set.saved) {
    if (!s.saved_valid) {
      return false;
    }
    for (auto u : s.saved_uids) {
      if (auto seq = s.sel->seq_of(u)) {
        indexes.push_back(seq - 1);
      }
    }
    return true;
  }
  if (uid) {
    indexes = set.uid_indexes(s.sel->uids);
  } else {
    for (auto n : set.sequence_numbers(s.sel->count())) {
      indexes.push_back(n - 1);
    }
  }
  return true;
}

}  // namespace cmd
}  // namespace homthu::imap
