#pragma once
// The one table that decides which command runs when (Dovecot's
// imap-commands.c idea): allowed states and whether the command uses
// sequence numbers, in which case no EXPUNGE may be sent while it completes
// (RFC 9051 §7.5.1, §7.4.1: not during FETCH, STORE, SEARCH by number).

#include "session.hpp"

#include <string_view>

namespace homthu::imap {

enum cmd_flag : unsigned {
  cmd_uses_seqs = 1u << 0,   // non-UID FETCH/STORE/SEARCH/COPY/MOVE/SORT/THREAD
  cmd_no_sync = 1u << 1,     // sends no untagged updates of its own accord
};

struct command_spec {
  std::string_view name;
  handler fn;
  unsigned states;
  unsigned flags;
};

constexpr unsigned any_state = static_cast<unsigned>(state::not_authenticated) |
                               static_cast<unsigned>(state::authenticated) |
                               static_cast<unsigned>(state::selected);
constexpr unsigned auth_states = static_cast<unsigned>(state::authenticated) |
                                 static_cast<unsigned>(state::selected);
constexpr unsigned sel_state = static_cast<unsigned>(state::selected);
constexpr unsigned nonauth_state = static_cast<unsigned>(state::not_authenticated);

// Looks up an uppercased name ("FETCH", "UID FETCH"); nullptr when unknown.
const command_spec* find_command(std::string_view name);

}  // namespace homthu::imap
