// homthuctl: the administration CLI for IT staff. Dispatches to command
// groups (app/src/ctl/*.cpp); parses only the options common to all.
// Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 temporary failure.
#include "ctl/command.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr const char* default_config = "/etc/homthu/homthu.toml";

void usage(const std::vector<homthu::ctl::command>& cmds, std::FILE* out) {
  std::fprintf(out,
               "usage: homthuctl [--config FILE] COMMAND [ARGS...]\n"
               "       homthuctl COMMAND --help\n\n"
               "Administers homthu: accounts, units, lists, app passwords, the mail queue\n"
               "and the mail store. FILE defaults to %s.\n\ncommands:\n",
               default_config);
  for (const auto& c : cmds) {
    std::fprintf(out, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<homthu::ctl::command> cmds;
  for (auto group : {homthu::ctl::directory_commands, homthu::ctl::storage_commands,
                     homthu::ctl::queue_commands, homthu::ctl::dkim_commands}) {
    for (auto& c : group()) {
      cmds.push_back(std::move(c));
    }
  }

  homthu::ctl::context ctx;
  ctx.config_path = default_config;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" || a == "-c") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "homthuctl: --config needs a FILE\n");
        return 2;
      }
      ctx.config_path = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      ctx.config_path = a.substr(9);
    } else if (a == "--help" || a == "-h") {
      usage(cmds, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "homthuctl: unknown option %s (try --help)\n", a.c_str());
      return 2;
    } else {
      break;
    }
  }
  if (i >= argc) {
    usage(cmds, stderr);
    return 2;
  }
  std::string name = argv[i++];
  std::vector<std::string> args(argv + i, argv + argc);
  for (const auto& c : cmds) {
    if (c.name == name) {
      try {
        return c.run(ctx, args);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "homthuctl %s: %s\n", name.c_str(), e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "homthuctl: unknown command \"%s\" (try --help)\n", name.c_str());
  return 2;
}
