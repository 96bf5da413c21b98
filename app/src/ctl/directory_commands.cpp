// homthuctl's directory command groups: users, units, aliases, lists, app
// passwords, CSV import and the demo province. Each group lives in its own
// directory_*.cpp; this file gathers them and holds the shared helpers.
#include "ctl/directory_ctl.hpp"

#include <iostream>

namespace homthu::ctl {

namespace dir {

parsed_args parse_args(const std::vector<std::string>& args, const std::set<std::string>& with_value,
                       const std::set<std::string>& switches) {
  parsed_args p;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      p.help = true;
      continue;
    }
    if (a == "--") {
      for (++i; i < args.size(); ++i) {
        p.positional.push_back(args[i]);
      }
      break;
    }
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (with_value.count(name) != 0) {
        if (inline_value) {
          p.values[name] = *inline_value;
        } else if (i + 1 < args.size()) {
          p.values[name] = args[++i];
        } else {
          p.error = "option --" + name + " needs a value";
          return p;
        }
      } else if (switches.count(name) != 0 && !inline_value) {
        p.flags.insert(name);
      } else {
        p.error = "unknown option " + a;
        return p;
      }
      continue;
    }
    p.positional.push_back(a);
  }
  return p;
}

std::optional<std::string> read_password_stdin() {
  std::string line;
  if (!std::getline(std::cin, line)) {
    return std::nullopt;
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
    line.pop_back();
  }
  return line;
}

}  // namespace dir

std::vector<command> directory_commands() {
  std::vector<command> out;
  for (auto group : {dir::account_commands, dir::import_commands, dir::demo_commands}) {
    for (auto& c : group()) {
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace homthu::ctl
