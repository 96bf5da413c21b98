// RFC 5322 address lists and MIME content fields as written, RFC 5256 base
// subjects, HTML to text, and IMAP string quoting. Input: untrusted header
// and body text; every loop advances at least one byte, so all of it is
// linear, and list sizes are capped.

#include "mime/syntax.hpp"

#include <cctype>
#include <cstdint>

namespace homthu::storage::mime {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool istarts(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) {
      return false;
    }
  }
  return true;
}

bool iends(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && istarts(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_wsp(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

enum class tok_kind { atom, quoted, literal, special, end };

struct token {
  tok_kind kind;
  std::string text;  // atom/quoted content, or the special character
};

// RFC 5322 §3.2 lexical tokens; comments are skipped (bounded nesting).
class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  token next() {
    skip_cfws();
    if (i_ >= s_.size()) {
      return {tok_kind::end, {}};
    }
    char c = s_[i_];
    if (c == '"') {
      ++i_;
      std::string out;
      while (i_ < s_.size() && s_[i_] != '"') {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
          ++i_;
        }
        out.push_back(s_[i_++]);
      }
      ++i_;
      return {tok_kind::quoted, out};
    }
    if (c == '[') {
      std::string out;
      while (i_ < s_.size() && s_[i_] != ']') {
        out.push_back(s_[i_++]);
      }
      if (i_ < s_.size()) {
        out.push_back(s_[i_++]);
      }
      return {tok_kind::literal, out};
    }
    if (c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':') {
      ++i_;
      return {tok_kind::special, std::string(1, c)};
    }
    std::string out;
    while (i_ < s_.size()) {
      char d = s_[i_];
      if (is_wsp(d) || d == '"' || d == '(' || d == '<' || d == '>' || d == '@' || d == ',' || d == ';' ||
          d == ':' || d == '[') {
        break;
      }
      out.push_back(d);
      ++i_;
    }
    if (out.empty()) {
      // A stray ')' or ']': skip it so the loop always advances.
      ++i_;
      return next();
    }
    return {tok_kind::atom, out};
  }

 private:
  void skip_cfws() {
    while (i_ < s_.size()) {
      if (is_wsp(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '(') {
        int depth = 0;
        while (i_ < s_.size()) {
          char c = s_[i_++];
          if (c == '\\') {
            ++i_;
          } else if (c == '(') {
            ++depth;
          } else if (c == ')' && --depth == 0) {
            break;
          }
        }
      } else {
        break;
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = 0xFFFD;
  }
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// HTML 4 Latin-1 entity names, U+00A0 to U+00FF in order.
constexpr const char* latin1_entities[96] = {"nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml"};

std::uint32_t named_entity(std::string_view e) {
  if (e == "amp") {
    return '&';
  }
  if (e == "lt") {
    return '<';
  }
  if (e == "gt") {
    return '>';
  }
  if (e == "quot") {
    return '"';
  }
  if (e == "apos") {
    return '\'';
  }
  if (e == "nbsp") {
    return ' ';
  }
  for (std::uint32_t i = 0; i < 96; ++i) {
    if (e == latin1_entities[i]) {
      return 0xA0 + i;
    }
  }
  return 0;
}

}  // namespace

std::string imap_string(std::string_view s) {
  bool quotable = s.size() <= 4096;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) {
      quotable = false;
      break;
    }
  }
  std::string out;
  if (quotable) {
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
    return out;
  }
  out = "{" + std::to_string(s.size()) + "}\r\n";
  for (char c : s) {
    out.push_back(c == '\0' ? ' ' : c);
  }
  return out;
}

std::string imap_nstring(const std::optional<std::string>& s) { return s ? imap_string(*s) : std::string("NIL"); }

std::vector<envelope_address> parse_address_list(std::string_view value, std::size_t max_addresses) {
  std::vector<envelope_address> out;
  lexer lx(value);
  std::vector<std::string> phrase;      // words seen since the last separator
  std::string local, domain;
  bool seen_at = false;
  bool in_group = false;
  bool have_angle = false;
  envelope_address angle;

  auto join_phrase = [&]() -> std::optional<std::string> {
    if (phrase.empty()) {
      return std::nullopt;
    }
    std::string s;
    for (const auto& w : phrase) {
      if (!s.empty()) {
        s.push_back(' ');
      }
      s += w;
    }
    return s;
  };
  auto flush = [&] {
    if (out.size() >= max_addresses) {
      phrase.clear();
      local.clear();
      domain.clear();
      seen_at = have_angle = false;
      return;
    }
    if (have_angle) {
      out.push_back(angle);
    } else if (!phrase.empty() || seen_at) {
      // A bare addr-spec: its words were collected into `phrase`/`domain`.
      envelope_address a;
      std::string l;
      for (const auto& w : phrase) {
        l += w;
      }
      a.mailbox = seen_at ? local : l;
      a.host = seen_at ? domain : std::string();
      if (!a.mailbox->empty() || !a.host->empty()) {
        out.push_back(a);
      }
    }
    phrase.clear();
    local.clear();
    domain.clear();
    seen_at = have_angle = false;
    angle = {};
  };

  while (true) {
    token t = lx.next();
    if (t.kind == tok_kind::end) {
      break;
    }
    if (t.kind == tok_kind::special) {
      char c = t.text[0];
      if (c == ',') {
        flush();
      } else if (c == ':' && !in_group && !have_angle) {
        if (out.size() < max_addresses) {
          envelope_address g;
          g.mailbox = join_phrase().value_or("");
          out.push_back(g);
        }
        phrase.clear();
        in_group = true;
      } else if (c == ';' && in_group) {
        flush();
        if (out.size() < max_addresses) {
          out.push_back(envelope_address{});
        }
        in_group = false;
      } else if (c == '<') {
        angle = {};
        angle.name = join_phrase();
        // [route ":"] local "@" domain ">"
        std::string route, l, d;
        bool at = false;
        std::string cur;
        while (true) {
          token u = lx.next();
          if (u.kind == tok_kind::end || (u.kind == tok_kind::special && u.text[0] == '>')) {
            break;
          }
          if (u.kind == tok_kind::special && u.text[0] == ':') {
            route = l + (at ? "@" + d : std::string());
            l.clear();
            d.clear();
            at = false;
            continue;
          }
          if (u.kind == tok_kind::special && u.text[0] == '@') {
            if (at) {
              d += "@";
            }
            at = true;
            continue;
          }
          if (u.kind == tok_kind::special && u.text[0] == ',') {
            if (!l.empty() || at) {
              route += (route.empty() ? "" : ",") + std::string("@") + d;
            }
            l.clear();
            d.clear();
            at = false;
            continue;
          }
          (at ? d : l) += u.text;
        }
        if (!route.empty()) {
          angle.adl = route;
        }
        angle.mailbox = l;
        angle.host = d;
        have_angle = true;
        phrase.clear();
      } else if (c == '@') {
        if (!seen_at) {
          for (const auto& w : phrase) {
            local += w;
          }
          phrase.clear();
          seen_at = true;
        }
      }
      continue;
    }
    if (seen_at && !have_angle) {
      domain += t.text;
    } else if (t.kind == tok_kind::quoted && !phrase.empty() && phrase.back().ends_with(".")) {
      phrase.back() += t.text;
    } else {
      phrase.push_back(t.text);
    }
  }
  flush();
  if (in_group && out.size() < max_addresses) {
    out.push_back(envelope_address{});
  }
  return out;
}

std::string imap_address_list(const std::vector<envelope_address>& list) {
  if (list.empty()) {
    return "NIL";
  }
  std::string out = "(";
  for (const auto& a : list) {
    out += "(" + imap_nstring(a.name) + " " + imap_nstring(a.adl) + " " + imap_nstring(a.mailbox) + " " +
           imap_nstring(a.host) + ")";
  }
  out += ")";
  return out;
}

content_field parse_content_field(std::string_view value) {
  content_field f;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < value.size() && (is_wsp(value[i]) || value[i] == '(')) {
      if (value[i] == '(') {
        int depth = 0;
        while (i < value.size()) {
          char c = value[i++];
          if (c == '(') {
            ++depth;
          } else if (c == ')' && --depth == 0) {
            break;
          }
        }
      } else {
        ++i;
      }
    }
  };
  skip_ws();
  while (i < value.size() && value[i] != ';' && !is_wsp(value[i]) && value[i] != '(') {
    f.value.push_back(lower(value[i++]));
  }
  while (i < value.size() && f.params.size() < 100) {
    while (i < value.size() && value[i] != ';') {
      ++i;
    }
    if (i >= value.size()) {
      break;
    }
    ++i;
    skip_ws();
    std::string name;
    while (i < value.size() && value[i] != '=' && value[i] != ';' && !is_wsp(value[i])) {
      name.push_back(value[i++]);
    }
    skip_ws();
    if (i >= value.size() || value[i] != '=' || name.empty()) {
      continue;
    }
    ++i;
    skip_ws();
    std::string v;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) {
          ++i;
        }
        v.push_back(value[i++]);
      }
      ++i;
    } else {
      while (i < value.size() && value[i] != ';' && !is_wsp(value[i])) {
        v.push_back(value[i++]);
      }
    }
    f.params.emplace_back(std::move(name), std::move(v));
  }
  return f;
}

std::optional<std::string> param(const content_field& f, std::string_view name) {
  for (const auto& [k, v] : f.params) {
    if (k.size() == name.size() && istarts(k, name)) {
      return v;
    }
  }
  return std::nullopt;
}

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\r' || c == '\n') {
      continue;
    }
    out.push_back(c == '\0' ? ' ' : c);
  }
  return std::string(trim(out));
}

std::string base_subject(std::string_view subject) {
  // (1) whitespace runs (including folding) become one space.
  std::string s;
  for (char c : subject) {
    if (is_wsp(c)) {
      if (!s.empty() && s.back() != ' ') {
        s.push_back(' ');
      }
    } else {
      s.push_back(c);
    }
  }
  auto blob_len = [](std::string_view v) -> std::size_t {
    // subj-blob = "[" *BLOBCHAR "]" *WSP
    if (v.empty() || v[0] != '[') {
      return 0;
    }
    std::size_t i = 1;
    while (i < v.size() && v[i] != ']' && v[i] != '[') {
      ++i;
    }
    if (i >= v.size() || v[i] != ']') {
      return 0;
    }
    ++i;
    while (i < v.size() && v[i] == ' ') {
      ++i;
    }
    return i;
  };
  auto refwd_len = [&](std::string_view v) -> std::size_t {
    // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    std::size_t i;
    if (istarts(v, "re")) {
      i = 2;
    } else if (istarts(v, "fwd")) {
      i = 3;
    } else if (istarts(v, "fw")) {
      i = 2;
    } else {
      return 0;
    }
    while (i < v.size() && v[i] == ' ') {
      ++i;
    }
    i += blob_len(v.substr(i));
    if (i < v.size() && v[i] == ':') {
      return i + 1;
    }
    return 0;
  };
  std::string_view v = s;
  while (true) {
    std::string_view before = v;
    // (2) subj-trailer
    while (true) {
      v = trim(v);
      if (iends(v, "(fwd)")) {
        v.remove_suffix(5);
      } else {
        break;
      }
    }
    // (3)-(4) subj-leader and leading blobs
    while (true) {
      v = trim(v);
      std::size_t p = 0;
      while (std::size_t b = blob_len(v.substr(p))) {
        p += b;
      }
      if (std::size_t r = refwd_len(v.substr(p))) {
        v.remove_prefix(p + r);
        continue;
      }
      std::size_t b = blob_len(v);
      if (b > 0 && !trim(v.substr(b)).empty()) {
        v.remove_prefix(b);
        continue;
      }
      break;
    }
    // (6) subj-fwd-hdr / subj-fwd-trl
    if (istarts(v, "[fwd:") && v.ends_with("]")) {
      v = v.substr(5, v.size() - 6);
      continue;
    }
    if (v == before) {
      break;
    }
  }
  return std::string(trim(v));
}

std::string html_to_text(std::string_view h) {
  std::string out;
  out.reserve(h.size() / 2);
  std::size_t i = 0;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  };
  while (i < h.size()) {
    char c = h[i];
    if (c == '<') {
      std::size_t j = i + 1;
      bool closing = j < h.size() && h[j] == '/';
      if (closing) {
        ++j;
      }
      std::string name;
      while (j < h.size() && name.size() < 16 && std::isalnum(static_cast<unsigned char>(h[j]))) {
        name.push_back(lower(h[j++]));
      }
      std::size_t end = h.find('>', j);
      if (end == std::string_view::npos) {
        break;
      }
      i = end + 1;
      if (!closing && (name == "script" || name == "style")) {
        std::string close = "</" + name;
        std::size_t k = i;
        while (true) {
          k = h.find("</", k);
          if (k == std::string_view::npos || istarts(h.substr(k), close)) {
            break;
          }
          k += 2;
        }
        if (k == std::string_view::npos) {
          break;
        }
        std::size_t e2 = h.find('>', k);
        i = e2 == std::string_view::npos ? h.size() : e2 + 1;
      }
      space();
      continue;
    }
    if (c == '&') {
      std::size_t semi = h.substr(i, 12).find(';');
      if (semi != std::string_view::npos) {
        std::string_view ent = h.substr(i + 1, semi - 1);
        std::uint32_t cp = 0;
        if (ent.size() > 1 && ent[0] != '#') {
          cp = named_entity(ent);
        } else if (ent.size() > 1 && ent[0] == '#') {
          bool hex = ent[1] == 'x' || ent[1] == 'X';
          for (std::size_t k = hex ? 2 : 1; k < ent.size(); ++k) {
            int d = std::isdigit(static_cast<unsigned char>(ent[k])) ? ent[k] - '0'
                    : hex && std::isxdigit(static_cast<unsigned char>(ent[k])) ? (lower(ent[k]) - 'a' + 10)
                                                                               : -1;
            if (d < 0 || cp > 0x10FFFF) {
              cp = 0xFFFD;
              break;
            }
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
          }
        }
        if (cp != 0) {
          append_utf8(out, cp);
          i += semi + 1;
          continue;
        }
      }
    }
    if (is_wsp(c)) {
      space();
    } else {
      out.push_back(c);
    }
    ++i;
  }
  return out;
}

}  // namespace homthu::storage::mime
