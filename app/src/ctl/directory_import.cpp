#include "ctl/directory_ctl.hpp"

namespace homthu::ctl::dir {

std::vector<command> import_commands() { return {}; }

}  // namespace homthu::ctl::dir
