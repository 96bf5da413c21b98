#pragma once
// homthuctl's subcommands. Each group lives in its own file and returns its
// commands; homthuctl.cpp only dispatches. A command gets the words after its
// name and the options homthuctl itself parsed (--config).

#include <functional>
#include <string>
#include <vector>

namespace homthu::ctl {

struct context {
  std::string config_path;   // --config FILE (may be empty for commands that need none)
};

struct command {
  std::string name;          // "user", "unit", "alias", "list", "apppass", "import", "fsck", …
  std::string summary;       // one line for `homthuctl --help`
  // Returns the process exit code: 0 ok, 1 operation failed, 2 usage error,
  // 3 temporary failure (directory or storage unavailable).
  std::function<int(const context&, const std::vector<std::string>& args)> run;
};

std::vector<command> directory_commands();  // ctl/directory_commands.cpp
std::vector<command> storage_commands();    // ctl/storage_commands.cpp
std::vector<command> queue_commands();      // ctl/queue_commands.cpp
std::vector<command> dkim_commands();       // ctl/dkim_commands.cpp

}  // namespace homthu::ctl
