#include "ctl/directory_ctl.hpp"

namespace homthu::ctl::dir {

std::vector<command> account_commands() { return {}; }

}  // namespace homthu::ctl::dir
