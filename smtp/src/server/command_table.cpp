// The one table that says which command may run when (STYLE.md rule 3).
// Phases follow RFC 5321 §4.1.4; before_tls follows RFC 3207 §4 and RFC 8314
// for the submission port; last_in_pipeline follows RFC 2920 §3.1.
#include "session.hpp"

namespace homthu::smtp::detail {
namespace {

using proto::make_reply;
using proto::verb;

const command_entry table[] = {
    {verb::ehlo, any_phase, true, true, false, {}},
    {verb::helo, any_phase, true, true, false, {}},
    {verb::starttls, bit(phase::connected) | bit(phase::greeted), true, true, false,
     make_reply(503, "5.5.1", "Error: STARTTLS not allowed during a mail transaction")},
    {verb::auth, bit(phase::greeted), false, true, false,
     make_reply(503, "5.5.1", "Error: send EHLO first, and not during a mail transaction")},
    {verb::mail, bit(phase::greeted), false, false, false,
     make_reply(503, "5.5.1", "Error: send EHLO first, or nested MAIL command")},
    {verb::rcpt, bit(phase::mail) | bit(phase::rcpt), false, false, false,
     make_reply(503, "5.5.1", "Error: need MAIL command")},
    {verb::data, bit(phase::mail) | bit(phase::rcpt), false, true, false,
     make_reply(503, "5.5.1", "Error: need RCPT command")},
    // BDAT checks its own phase: its chunk has to be read whatever the answer.
    {verb::bdat, any_phase, false, false, false, {}},
    {verb::rset, any_phase, true, false, true, {}},
    {verb::noop, any_phase, true, true, true, {}},
    {verb::quit, any_phase, true, true, false, {}},
    {verb::vrfy, any_phase, false, true, true, {}},
    {verb::expn, any_phase, false, true, true, {}},
    {verb::help, any_phase, true, true, true, {}},
};

}  // namespace

const command_entry* find_command(proto::verb v) {
  for (const auto& e : table) {
    if (e.verb == v) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace homthu::smtp::detail
