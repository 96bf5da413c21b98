// The command table (see command_table.hpp). Adding a command is one line
// here and one file in commands/.
#include "command_table.hpp"

#include "commands/commands.hpp"

#include <array>

namespace homthu::imap {

namespace {

const std::array commands{
    command_spec{"CAPABILITY", cmd::capability, any_state, 0},
    command_spec{"NOOP", cmd::noop, any_state, 0},
    command_spec{"LOGOUT", cmd::logout, any_state, cmd_no_sync},
    command_spec{"ID", cmd::id, any_state, 0},
    command_spec{"STARTTLS", cmd::starttls, nonauth_state, cmd_no_sync},
    command_spec{"LOGIN", cmd::login, nonauth_state, cmd_no_sync},
    command_spec{"AUTHENTICATE", cmd::authenticate, nonauth_state, cmd_no_sync},
    command_spec{"ENABLE", cmd::enable, auth_states, 0},
    command_spec{"NAMESPACE", cmd::namespace_, auth_states, 0},
    command_spec{"LIST", cmd::list, auth_states, 0},
    command_spec{"LSUB", cmd::lsub, auth_states, 0},
    command_spec{"CREATE", cmd::create, auth_states, 0},
    command_spec{"DELETE", cmd::delete_, auth_states, 0},
    command_spec{"RENAME", cmd::rename, auth_states, 0},
    command_spec{"SUBSCRIBE", cmd::subscribe, auth_states, 0},
    command_spec{"UNSUBSCRIBE", cmd::unsubscribe, auth_states, 0},
    command_spec{"STATUS", cmd::status, auth_states, 0},
    command_spec{"SELECT", cmd::select, auth_states, cmd_no_sync},
    command_spec{"EXAMINE", cmd::examine, auth_states, cmd_no_sync},
    command_spec{"APPEND", nullptr, auth_states, 0},  // streamed by the session
    command_spec{"IDLE", cmd::idle, auth_states, 0},
    command_spec{"GETQUOTA", cmd::getquota, auth_states, 0},
    command_spec{"GETQUOTAROOT", cmd::getquotaroot, auth_states, 0},
    command_spec{"SETQUOTA", cmd::setquota, auth_states, 0},
    command_spec{"COMPRESS", cmd::compress, auth_states, cmd_no_sync},
    command_spec{"UNSELECT", cmd::unselect, sel_state, cmd_no_sync},
    command_spec{"CLOSE", cmd::close, sel_state, cmd_no_sync},
    command_spec{"CHECK", cmd::check, sel_state, 0},
    command_spec{"EXPUNGE", cmd::expunge, sel_state, 0},
    command_spec{"FETCH", cmd::fetch, sel_state, cmd_uses_seqs},
    command_spec{"STORE", cmd::store, sel_state, cmd_uses_seqs},
    command_spec{"COPY", cmd::copy, sel_state, cmd_uses_seqs},
    command_spec{"MOVE", cmd::move, sel_state, cmd_uses_seqs},
    command_spec{"SEARCH", cmd::search, sel_state, cmd_uses_seqs},
    command_spec{"SORT", cmd::sort, sel_state, cmd_uses_seqs},
    command_spec{"THREAD", cmd::thread, sel_state, cmd_uses_seqs},
    command_spec{"UID FETCH", cmd::fetch, sel_state, 0},
    command_spec{"UID STORE", cmd::store, sel_state, 0},
    command_spec{"UID COPY", cmd::copy, sel_state, 0},
    command_spec{"UID MOVE", cmd::move, sel_state, 0},
    command_spec{"UID SEARCH", cmd::search, sel_state, 0},
    command_spec{"UID SORT", cmd::sort, sel_state, 0},
    command_spec{"UID THREAD", cmd::thread, sel_state, 0},
    command_spec{"UID EXPUNGE", cmd::expunge, sel_state, 0},
};

}  // namespace

const command_spec* find_command(std::string_view name) {
  for (const auto& c : commands) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace homthu::imap
