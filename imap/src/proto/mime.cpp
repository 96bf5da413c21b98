// MIME part location (see mime.hpp). Untrusted input; bounded depth/parts.
#include "homthu/imap/proto/mime.hpp"

#include "homthu/imap/proto/lexer.hpp"

#include <cctype>

namespace homthu::imap::proto {

namespace {

constexpr int max_depth = 100;
constexpr std::size_t max_parts = 10000;

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls fn(name, unfolded value) for every header field.
template <class F>
void for_each_field(std::string_view header, F fn) {
  std::size_t i = 0;
  while (i < header.size()) {
    auto eol = header.find('\n', i);
    std::size_t end = eol == std::string_view::npos ? header.size() : eol + 1;
    // Continuation lines start with SP or HTAB (RFC 5322 §2.2.3).
    while (end < header.size() && (header[end] == ' ' || header[end] == '\t')) {
      auto e2 = header.find('\n', end);
      end = e2 == std::string_view::npos ? header.size() : e2 + 1;
    }
    std::string_view field = header.substr(i, end - i);
    auto colon = field.find(':');
    if (colon != std::string_view::npos) {
      std::string value;
      for (char c : field.substr(colon + 1)) {
        if (c != '\r' && c != '\n') {
          value.push_back(c);
        }
      }
      fn(trim(field.substr(0, colon)), field, std::string(trim(value)));
    } else {
      fn(std::string_view(), field, std::string());
    }
    i = end;
  }
}

std::string param(std::string_view value, std::string_view name) {
  // ; name=value or ; name="quoted"
  std::size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    auto eq = value.find('=', i);
    if (eq == std::string_view::npos) {
      return {};
    }
    auto pname = trim(value.substr(i, eq - i));
    std::size_t j = eq + 1;
    while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) {
      ++j;
    }
    std::string v;
    if (j < value.size() && value[j] == '"') {
      ++j;
      while (j < value.size() && value[j] != '"') {
        if (value[j] == '\\' && j + 1 < value.size()) {
          ++j;
        }
        v.push_back(value[j++]);
      }
      ++j;
    } else {
      while (j < value.size() && value[j] != ';' && value[j] != ' ' && value[j] != '\t') {
        v.push_back(value[j++]);
      }
    }
    if (iequals(pname, name)) {
      return v;
    }
    i = value.find(';', j);
  }
  return {};
}

struct parser {
  std::string_view msg;
  std::size_t parts = 0;

  void entity(mime_entity& e, std::size_t begin, std::size_t end, int depth, bool digest_child) {
    e.header_begin = begin;
    e.body_begin = std::min(header_end(msg.substr(0, end), begin), end);
    e.body_end = end;
    if (digest_child) {
      e.type = "message";
      e.subtype = "rfc822";
    }
    for_each_field(msg.substr(begin, e.body_begin - begin), [&](std::string_view name, std::string_view,
                                                               const std::string& value) {
      if (iequals(name, "Content-Type")) {
        auto semi = value.find(';');
        auto ts = trim(std::string_view(value).substr(0, semi));
        auto slash = ts.find('/');
        if (slash != std::string_view::npos && slash > 0 && slash + 1 < ts.size()) {
          e.type = lower(trim(ts.substr(0, slash)));
          e.subtype = lower(trim(ts.substr(slash + 1)));
          e.boundary = param(value, "boundary");
        }
      } else if (iequals(name, "Content-Transfer-Encoding")) {
        e.cte = lower(value);
      }
    });
    if (depth >= max_depth || ++parts > max_parts) {
      return;
    }
    if (e.multipart() && !e.boundary.empty() && e.boundary.size() <= 200) {
      split(e, depth);
    } else if (e.type == "message" && (e.subtype == "rfc822" || e.subtype == "global")) {
      e.message = std::make_unique<mime_entity>();
      entity(*e.message, e.body_begin, e.body_end, depth + 1, false);
    }
  }

  void split(mime_entity& e, int depth) {
    std::string delim = "--" + e.boundary;
    bool digest = e.subtype == "digest";
    std::size_t pos = e.body_begin;
    std::size_t part_start = std::string_view::npos;
    while (pos < e.body_end) {
      auto eol = msg.find('\n', pos);
      std::size_t line_end = eol == std::string_view::npos || eol >= e.body_end ? e.body_end : eol + 1;
      std::string_view line = msg.substr(pos, line_end - pos);
      if (line.substr(0, delim.size()) == delim) {
        std::string_view rest = line.substr(delim.size());
        bool close = rest.substr(0, 2) == "--";
        if (part_start != std::string_view::npos) {
          // The CRLF before the delimiter belongs to the delimiter (RFC 2046 §5.1.1).
          std::size_t part_end = pos;
          if (part_end > part_start && msg[part_end - 1] == '\n') {
            --part_end;
            if (part_end > part_start && msg[part_end - 1] == '\r') {
              --part_end;
            }
          }
          e.children.emplace_back();
          entity(e.children.back(), part_start, part_end, depth + 1, digest);
          if (parts > max_parts) {
            return;
          }
        }
        if (close) {
          return;
        }
        part_start = line_end;
      }
      pos = line_end;
    }
    if (part_start != std::string_view::npos && part_start < e.body_end) {
      // Missing close delimiter: the last part runs to the end.
      e.children.emplace_back();
      entity(e.children.back(), part_start, e.body_end, depth + 1, digest);
    }
  }
};

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::size_t header_end(std::string_view msg, std::size_t from) {
  std::size_t i = from;
  // A header block may be empty: the message starts with the blank line.
  while (i < msg.size()) {
    if (msg[i] == '\n') {
      return i + 1;
    }
    if (msg[i] == '\r' && i + 1 < msg.size() && msg[i + 1] == '\n') {
      return i + 2;
    }
    auto eol = msg.find('\n', i);
    if (eol == std::string_view::npos) {
      return msg.size();
    }
    i = eol + 1;
  }
  return msg.size();
}

mime_entity parse_mime(std::string_view msg) {
  mime_entity root;
  parser p{msg};
  p.entity(root, 0, msg.size(), 0, false);
  return root;
}

const mime_entity* find_part(const mime_entity& root, std::span<const std::uint32_t> path) {
  const mime_entity* e = &root;
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::uint32_t n = path[i];
    const mime_entity* container = e;
    if (i > 0 && e->message) {
      // N.M inside a message/rfc822 part addresses the encapsulated message.
      container = e->message.get();
    } else if (i > 0 && !e->multipart()) {
      return nullptr;
    }
    if (container->multipart()) {
      if (n == 0 || n > container->children.size()) {
        return nullptr;
      }
      e = &container->children[n - 1];
    } else if (n == 1) {
      e = container;
    } else {
      return nullptr;
    }
  }
  return e;
}

std::optional<std::string> decode_transfer_encoding(std::string_view body, std::string_view cte) {
  if (cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary") {
    return std::string(body);
  }
  std::string out;
  if (cte == "base64") {
    std::uint32_t bits = 0;
    int n = 0;
    for (char c : body) {
      int v;
      if (c >= 'A' && c <= 'Z') v = c - 'A';
      else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
      else if (c >= '0' && c <= '9') v = c - '0' + 52;
      else if (c == '+') v = 62;
      else if (c == '/') v = 63;
      else if (c == '=') break;
      else continue;  // line breaks and stray characters (RFC 2045 §6.8)
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      n += 6;
      if (n >= 8) {
        n -= 8;
        out.push_back(static_cast<char>((bits >> n) & 0xff));
      }
    }
    return out;
  }
  if (cte == "quoted-printable") {
    for (std::size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c != '=') {
        out.push_back(c);
        continue;
      }
      if (i + 1 < body.size() && body[i + 1] == '\n') {
        ++i;  // soft line break
      } else if (i + 2 < body.size() && body[i + 1] == '\r' && body[i + 2] == '\n') {
        i += 2;
      } else if (i + 2 < body.size() && hex(body[i + 1]) >= 0 && hex(body[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(body[i + 1]) * 16 + hex(body[i + 2])));
        i += 2;
      } else {
        out.push_back(c);
      }
    }
    return out;
  }
  return std::nullopt;
}

std::string filter_header(std::string_view header, const std::vector<std::string>& fields, bool exclude) {
  std::string out;
  for_each_field(header, [&](std::string_view name, std::string_view raw, const std::string&) {
    if (name.empty()) {
      return;  // the blank line and garbage
    }
    bool listed = false;
    for (const auto& f : fields) {
      listed = listed || iequals(name, f);
    }
    if (listed != exclude) {
      out.append(raw);
      if (out.back() != '\n') {
        out += "\r\n";
      }
    }
  });
  out += "\r\n";
  return out;
}

}  // namespace homthu::imap::proto
