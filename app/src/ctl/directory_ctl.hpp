#pragma once
// Shared pieces of homthuctl's directory commands: a small option parser
// and the password/config helpers. Only directory_*.cpp include this.

#include "ctl/command.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace homthu::ctl::dir {

// Exit codes (command.hpp).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_temporary = 3;

// Parsed words: positionals in order, options by name ("--unit" → "unit").
struct parsed_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  bool help = false;
  std::string error;  // non-empty: usage error to print

  bool has(const std::string& f) const { return flags.count(f) != 0; }
  std::optional<std::string> value(const std::string& k) const {
    auto it = values.find(k);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  }
};

// `with_value`: options that take a value (--unit X or --unit=X);
// `switches`: options without one. Anything else starting with "--" is an error.
parsed_args parse_args(const std::vector<std::string>& args, const std::set<std::string>& with_value,
                       const std::set<std::string>& switches);

// The first line of stdin without its line ending; nullopt on EOF.
std::optional<std::string> read_password_stdin();

std::vector<command> demo_commands();       // directory_demo.cpp
std::vector<command> account_commands();    // directory_accounts.cpp
std::vector<command> import_commands();     // directory_import.cpp

}  // namespace homthu::ctl::dir
