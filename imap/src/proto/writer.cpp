// Response encoding helpers (see writer.hpp).
#include "homthu/imap/proto/writer.hpp"

#include "homthu/imap/proto/lexer.hpp"
#include "homthu/imap/proto/utf7.hpp"

#include <cstdio>
#include <ctime>

namespace homthu::imap::proto {

namespace {

bool quotable(std::string_view s, bool utf8) {
  if (s.size() > 1024) {
    return false;
  }
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0 || c == '\r' || c == '\n') {
      return false;
    }
    if (u >= 0x80 && !utf8) {
      return false;
    }
  }
  return !utf8 || valid_utf8(s);
}

constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i) {
    if (iequals(m, months[i])) {
      return i;
    }
  }
  return -1;
}

// Days from 1970-01-01 for a civil date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool parse_uint(std::string_view s, unsigned& out) {
  if (s.empty() || s.size() > 4) {
    return false;
  }
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

bool parse_day_month_year(std::string_view s, std::int64_t& out) {
  auto d1 = s.find('-');
  auto d2 = s.find('-', d1 == std::string_view::npos ? 0 : d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos) {
    return false;
  }
  unsigned day = 0;
  unsigned year = 0;
  std::string_view day_s = s.substr(0, d1);
  if (!day_s.empty() && day_s[0] == ' ') {
    day_s.remove_prefix(1);
  }
  if (!parse_uint(day_s, day) || !parse_uint(s.substr(d2 + 1), year) || s.size() - d2 - 1 != 4) {
    return false;
  }
  int m = month_index(s.substr(d1 + 1, d2 - d1 - 1));
  if (m < 0 || day < 1 || day > 31 || year < 1900) {
    return false;
  }
  out = days_from_civil(year, static_cast<unsigned>(m + 1), day) * 86400;
  return true;
}

}  // namespace

void append_string(std::string& out, std::string_view s, bool utf8) {
  if (quotable(s, utf8)) {
    out.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
    return;
  }
  out.push_back('{');
  out += std::to_string(s.size());
  out += "}\r\n";
  out.append(s);
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
  bool atom = !s.empty() && !iequals(s, "NIL");
  for (char c : s) {
    if (!is_astring_char(c)) {
      atom = false;
      break;
    }
  }
  if (atom) {
    out.append(s);
  } else {
    append_string(out, s, utf8);
  }
}

void append_nstring(std::string& out, const std::string* s, bool utf8) {
  if (s == nullptr) {
    out += "NIL";
  } else {
    append_string(out, *s, utf8);
  }
}

void append_mailbox(std::string& out, std::string_view utf8_name, bool utf8_enabled) {
  if (utf8_enabled) {
    append_astring(out, utf8_name, true);
    return;
  }
  auto m = utf8_to_mutf7(utf8_name);
  append_astring(out, m ? *m : std::string(utf8_name), false);
}

bool decode_mailbox(std::string_view wire, bool utf8_enabled, std::string& out) {
  bool ascii = true;
  for (char c : wire) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    // RFC 6855 §3: with UTF8=ACCEPT names are UTF-8; without it we still
    // take valid UTF-8, as Dovecot does, since no valid mUTF-7 has 8-bit bytes.
    if (!valid_utf8(wire)) {
      return false;
    }
    out.assign(wire);
    return true;
  }
  if (utf8_enabled) {
    out.assign(wire);
    return true;
  }
  auto d = mutf7_to_utf8(wire);
  if (!d) {
    return false;
  }
  out = std::move(*d);
  return true;
}

std::string format_date_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool parse_date(std::string_view s, std::int64_t& out) { return parse_day_month_year(s, out); }

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
bool parse_date_time(std::string_view s, std::int64_t& out) {
  auto sp = s.find(' ', 1);
  if (sp == std::string_view::npos || s.size() < sp + 1 + 8 + 1 + 5) {
    return false;
  }
  std::int64_t day = 0;
  if (!parse_day_month_year(s.substr(0, sp), day)) {
    return false;
  }
  std::string_view time = s.substr(sp + 1, 8);
  std::string_view zone = s.substr(sp + 10);
  unsigned hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
  if (time[2] != ':' || time[5] != ':' || !parse_uint(time.substr(0, 2), hh) ||
      !parse_uint(time.substr(3, 2), mm) || !parse_uint(time.substr(6, 2), ss) || hh > 23 || mm > 59 ||
      ss > 60 || s[sp + 9] != ' ' || zone.size() != 5 || (zone[0] != '+' && zone[0] != '-') ||
      !parse_uint(zone.substr(1, 2), zh) || !parse_uint(zone.substr(3, 2), zm)) {
    return false;
  }
  std::int64_t offset = (zh * 3600 + zm * 60) * (zone[0] == '-' ? -1 : 1);
  out = day + hh * 3600 + mm * 60 + ss - offset;
  return true;
}

}  // namespace homthu::imap::proto
