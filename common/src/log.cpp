// Structured log lines. Every value is quoted and escaped when it holds
// anything but safe characters, so peer-supplied text (EHLO names, mailbox
// names) cannot inject a line break or a fake key=value.
#include "homthu/common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>

namespace homthu::common::log {

namespace {

struct sink {
  std::mutex mu;
  std::FILE* out = stderr;
  std::atomic<int> min_level{static_cast<int>(level::info)};
};

sink& the_sink() {
  static sink s;
  return s;
}

const char* level_name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      return true;
    }
  }
  return false;
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (unsigned char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void set_level(level l) { the_sink().min_level = static_cast<int>(l); }
level get_level() { return static_cast<level>(the_sink().min_level.load()); }

void set_output_file(const std::string& path) {
  auto& s = the_sink();
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) {
    throw std::runtime_error("log file " + path + ": cannot open for appending");
  }
  std::setvbuf(f, nullptr, _IOLBF, 0);
  std::lock_guard lock(s.mu);
  if (s.out != stderr) {
    std::fclose(s.out);
  }
  s.out = f;
}

void write(level l, std::string_view event, std::initializer_list<field> fields,
           std::string_view context) {
  auto& s = the_sink();
  if (static_cast<int>(l) < s.min_level.load(std::memory_order_relaxed)) {
    return;
  }
  std::string line = "ts=" + timestamp();
  append_field(line, "level", level_name(l));
  append_field(line, "event", event);
  line += context;
  for (const auto& f : fields) {
    append_field(line, f.key, f.value);
  }
  line += '\n';
  std::lock_guard lock(s.mu);
  std::fwrite(line.data(), 1, line.size(), s.out);
  std::fflush(s.out);
}

logger logger::with(std::string_view key, std::string_view value) const {
  logger l = *this;
  append_field(l.ctx_, key, value);
  return l;
}

std::string new_session_id() {
  // Random prefix per process, counter per session: unique, short, and not
  // guessable across restarts.
  static const std::uint64_t prefix = std::random_device{}() & 0xfffff;
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t v = (prefix << 36) | (counter.fetch_add(1) & 0xfffffffffull);
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  do {
    out += alphabet[v & 31];
    v >>= 5;
  } while (v != 0);
  return out;
}

}  // namespace homthu::common::log
