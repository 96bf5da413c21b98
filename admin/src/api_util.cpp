// Pure helpers of the REST API (see api_util.hpp). Every input here comes
// from the client and is bounded: JSON depth and size by Boost.JSON's
// parse options and the server's body limit, CSV by a record cap.
#include "api_util.hpp"

#include <charconv>

namespace homthu::admin {

namespace json = boost::json;

namespace {

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  if (!p.empty() && p.front() == '/') {
    i = 1;
  }
  while (i <= p.size()) {
    auto j = p.find('/', i);
    if (j == std::string_view::npos) {
      j = p.size();
    }
    out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::optional<std::map<std::string, std::string>> match_route(std::string_view pattern, std::string_view path) {
  auto ps = split_path(pattern);
  auto xs = split_path(path);
  if (ps.size() != xs.size()) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].size() > 2 && ps[i].front() == '{' && ps[i].back() == '}') {
      if (xs[i].empty()) {
        return std::nullopt;
      }
      out[std::string(ps[i].substr(1, ps[i].size() - 2))] = std::string(xs[i]);
    } else if (ps[i] != xs[i]) {
      return std::nullopt;
    }
  }
  return out;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) {
      pair.remove_prefix(1);
    }
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    auto k = pair.substr(0, eq);
    auto v = pair.substr(eq + 1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
      v.remove_suffix(1);
    }
    if (k == name) {
      return std::string(v);
    }
  }
  return {};
}

bool is_clean_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) {
        return false;
      }
      ++i;
      continue;
    }
    int len = c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
      return false;
    }
    std::uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF; C1 controls.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0)) {
      return false;
    }
    i += static_cast<std::size_t>(len);
  }
  return true;
}

std::variant<json::object, field_error> parse_object(std::string_view body) {
  json::parse_options opt;
  opt.max_depth = 16;
  boost::system::error_code ec;
  auto v = json::parse(body, ec, {}, opt);
  if (ec) {
    return field_error{"", "body: not valid JSON (" + ec.message() + ")"};
  }
  if (!v.is_object()) {
    return field_error{"", "body: must be a JSON object"};
  }
  return std::move(v.as_object());
}

std::variant<std::optional<std::string>, field_error> get_string(const json::object& o, std::string_view key,
                                                                 std::size_t max_bytes, bool required) {
  auto it = o.find(key);
  std::string k(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) {
      return field_error{k, k + ": required"};
    }
    return std::optional<std::string>{};
  }
  if (!it->value().is_string()) {
    return field_error{k, k + ": must be a string"};
  }
  std::string s(it->value().as_string());
  if (s.size() > max_bytes) {
    return field_error{k, k + ": at most " + std::to_string(max_bytes) + " bytes"};
  }
  if (!is_clean_text(s)) {
    return field_error{k, k + ": must be UTF-8 text without control characters"};
  }
  if (required && s.empty()) {
    return field_error{k, k + ": must not be empty"};
  }
  return std::optional<std::string>(std::move(s));
}

std::variant<std::optional<std::uint64_t>, field_error> get_uint(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  std::string k(key);
  if (it == o.end() || it->value().is_null()) {
    return std::optional<std::uint64_t>{};
  }
  const auto& v = it->value();
  if (v.is_uint64()) {
    return std::optional<std::uint64_t>(v.as_uint64());
  }
  if (v.is_int64() && v.as_int64() >= 0) {
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v.as_int64()));
  }
  return field_error{k, k + ": must be a whole number ≥ 0"};
}

std::variant<std::optional<bool>, field_error> get_bool(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  std::string k(key);
  if (it == o.end() || it->value().is_null()) {
    return std::optional<bool>{};
  }
  if (!it->value().is_bool()) {
    return field_error{k, k + ": must be true or false"};
  }
  return std::optional<bool>(it->value().as_bool());
}

std::variant<std::optional<std::vector<std::string>>, field_error> get_string_list(const json::object& o,
                                                                                   std::string_view key,
                                                                                   std::size_t max_items) {
  auto it = o.find(key);
  std::string k(key);
  if (it == o.end() || it->value().is_null()) {
    return std::optional<std::vector<std::string>>{};
  }
  if (!it->value().is_array()) {
    return field_error{k, k + ": must be a list of strings"};
  }
  const auto& a = it->value().as_array();
  if (a.size() > max_items) {
    return field_error{k, k + ": at most " + std::to_string(max_items) + " items"};
  }
  std::vector<std::string> out;
  for (const auto& e : a) {
    if (!e.is_string() || e.as_string().size() > 320 || !is_clean_text(e.as_string())) {
      return field_error{k, k + ": must be a list of strings (at most 320 bytes each)"};
    }
    out.emplace_back(e.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

std::optional<field_error> only_fields(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : o) {
    bool ok = false;
    for (auto a : allowed) {
      if (kv.key() == a) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      std::string k(kv.key());
      if (k.size() > 64 || !is_clean_text(k)) {
        k = "?";
      }
      return field_error{k, k + ": unknown field"};
    }
  }
  return std::nullopt;
}

std::variant<csv_table, std::string> parse_csv(std::string_view text, std::size_t max_records) {
  csv_table t;
  std::size_t i = 0, line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    i = 3;  // spreadsheets save UTF-8 with a byte-order mark
  }
  while (i < text.size()) {
    std::vector<std::string> rec;
    std::string field;
    std::size_t start_line = line;
    bool quoted = false, was_quoted = false, end = false;
    while (i < text.size() && !end) {
      char c = text[i];
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          quoted = false;
          ++i;
          continue;
        }
        if (c == '\n') {
          ++line;
        }
        field += c;
        ++i;
        continue;
      }
      switch (c) {
        case '"':
          if (!field.empty() || was_quoted) {
            return "line " + std::to_string(line) + ": a quote inside an unquoted field";
          }
          quoted = was_quoted = true;
          ++i;
          break;
        case ',':
          rec.push_back(std::move(field));
          field.clear();
          was_quoted = false;
          ++i;
          break;
        case '\r':
          ++i;
          break;
        case '\n':
          ++line;
          ++i;
          end = true;
          break;
        default:
          if (was_quoted) {
            return "line " + std::to_string(line) + ": text after a closing quote";
          }
          field += c;
          ++i;
      }
    }
    if (quoted) {
      return "line " + std::to_string(start_line) + ": a quoted field is not closed";
    }
    rec.push_back(std::move(field));
    bool blank = rec.size() == 1 && rec[0].empty();
    if (!blank) {
      if (t.records.size() >= max_records) {
        return "more than " + std::to_string(max_records) + " rows";
      }
      t.records.push_back(std::move(rec));
      t.lines.push_back(start_line);
    }
  }
  return t;
}

std::string csv_field(std::string_view s) {
  std::string v(s);
  if (!v.empty() && (v.front() == '=' || v.front() == '+' || v.front() == '@' || v.front() == '\t')) {
    v.insert(v.begin(), '\'');
  }
  // A value that starts with a byte-order mark is quoted too: the reader
  // drops a BOM at the start of a file, and this value may come first.
  if (v.find_first_of(",\"\r\n") == std::string::npos && !v.starts_with("\xEF\xBB\xBF")) {
    return v;
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  return out + "\"";
}

std::optional<std::size_t> query_number(const std::map<std::string, std::string>& q, const std::string& key,
                                        std::size_t fallback, std::size_t lo, std::size_t hi) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) {
    return fallback;
  }
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc{} || p != it->second.data() + it->second.size()) {
    return std::nullopt;
  }
  return std::clamp(v, lo, hi);
}

}  // namespace homthu::admin
