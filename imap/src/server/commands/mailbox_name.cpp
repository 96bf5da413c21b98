// Mailbox name checks shared by every command that names a mailbox (I5):
// the storage names are logical ('/'-separated, UTF-8), never paths, but we
// still refuse what could look like one to a human or a tool: empty levels,
// "." and "..", a leading "~", control characters and invalid mUTF-7.
#include "commands.hpp"

namespace homthu::imap::cmd {

bool decode_mailbox_arg(session& s, const std::string& wire, std::string& name, reply& err) {
  if (!s.mailbox_name(wire, name)) {
    err = reply::no("[CANNOT] Invalid mailbox name encoding");
    return false;
  }
  if (name.empty() || name.size() > 1000 || name.front() == '/' || name.front() == '~') {
    err = reply::no("[CANNOT] Invalid mailbox name");
    return false;
  }
  std::size_t start = 0;
  for (;;) {
    auto slash = name.find('/', start);
    std::string_view level = std::string_view(name).substr(start, slash == std::string::npos ? std::string::npos
                                                                                              : slash - start);
    if ((level.empty() && slash != std::string::npos) || level == "." || level == "..") {
      err = reply::no("[CANNOT] Invalid mailbox name");
      return false;
    }
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  for (char ch : name) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == '*' || ch == '%') {
      err = reply::no("[CANNOT] Invalid character in mailbox name");
      return false;
    }
  }
  return true;
}

}  // namespace homthu::imap::cmd
