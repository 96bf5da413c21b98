#include "ctl/command.hpp"

namespace homthu::ctl {

std::vector<command> directory_commands() { return {}; }

}  // namespace homthu::ctl
