#pragma once
// Structured logging: one line per event, `ts=… level=… event=… key=value…`.
// Values with spaces, quotes or control characters are quoted and escaped, so
// a hostile client cannot forge a log line. Passwords are never passed here.
//
//   log::info("smtp.accept", {{"session", id}, {"peer", ip}});
//   auto l = log::logger{}.with("session", id);  l.warn("smtp.timeout", {});

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace homthu::common::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

struct field {
  std::string_view key;
  std::string value;
  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  template <class N>
    requires std::is_arithmetic_v<N>
  field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

void set_level(level l);
level get_level();
// Where lines go: stderr by default (journald adds its own timestamps but we
// keep ours for files and tests).
void set_output_file(const std::string& path);

void write(level l, std::string_view event, std::initializer_list<field> fields,
           std::string_view context = {});

inline void debug(std::string_view e, std::initializer_list<field> f = {}) { write(level::debug, e, f); }
inline void info(std::string_view e, std::initializer_list<field> f = {}) { write(level::info, e, f); }
inline void warn(std::string_view e, std::initializer_list<field> f = {}) { write(level::warn, e, f); }
inline void error(std::string_view e, std::initializer_list<field> f = {}) { write(level::error, e, f); }

// A logger that prefixes every line with fixed fields (session id, peer).
class logger {
 public:
  logger() = default;
  logger with(std::string_view key, std::string_view value) const;
  void debug(std::string_view e, std::initializer_list<field> f = {}) const { write(level::debug, e, f, ctx_); }
  void info(std::string_view e, std::initializer_list<field> f = {}) const { write(level::info, e, f, ctx_); }
  void warn(std::string_view e, std::initializer_list<field> f = {}) const { write(level::warn, e, f, ctx_); }
  void error(std::string_view e, std::initializer_list<field> f = {}) const { write(level::error, e, f, ctx_); }

 private:
  std::string ctx_;
};

// Appends ` key=value` to out with quoting as needed.
void append_field(std::string& out, std::string_view key, std::string_view value);
// A new, process-unique session id (short, base32).
std::string new_session_id();

}  // namespace homthu::common::log
