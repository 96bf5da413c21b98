// FETCH arguments (RFC 9051 §6.4.5, BINARY RFC 3516, CONDSTORE/QRESYNC
// RFC 7162 §3.1.4, §3.2.6).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

namespace {

bool parse_section(lexer& lex, fetch_section& sec, bool binary) {
  // "[" already consumed.
  std::string spec;
  while (lex.peek() >= '0' && lex.peek() <= '9') {
    auto n = lex.nz_number();
    if (!n) {
      return false;
    }
    if (sec.part.size() >= 100) {
      return lex.fail("Section part too deep");
    }
    sec.part.push_back(*n);
    if (!spec.empty()) {
      spec.push_back('.');
    }
    spec += std::to_string(*n);
    if (!lex.skip('.')) {
      break;
    }
    if (lex.peek() < '0' || lex.peek() > '9') {
      if (binary) {
        return lex.fail("BINARY takes only a part number");
      }
      spec.push_back('.');
      goto text;
    }
  }
  if (lex.skip(']')) {
    sec.spec = spec;
    return true;
  }
  if (binary || !sec.part.empty()) {
    return lex.fail("Invalid section");
  }
text : {
  auto start = lex.position();
  while ((lex.peek() >= 'A' && lex.peek() <= 'Z') || (lex.peek() >= 'a' && lex.peek() <= 'z') ||
         lex.peek() == '.') {
    lex.seek(lex.position() + 1);
  }
  auto word = upper(lex.slice(start, lex.position()));
  spec += word;
  if (word == "HEADER") {
    sec.kind = fetch_section::text::header;
  } else if (word == "TEXT") {
    sec.kind = fetch_section::text::text;
  } else if (word == "MIME" && !sec.part.empty()) {
    sec.kind = fetch_section::text::mime;
  } else if (word == "HEADER.FIELDS" || word == "HEADER.FIELDS.NOT") {
    sec.kind = word == "HEADER.FIELDS" ? fetch_section::text::header_fields
                                       : fetch_section::text::header_fields_not;
    if (!lex.sp() || !lex.open()) {
      return false;
    }
    spec += " (";
    while (!lex.skip(')')) {
      if (!sec.fields.empty()) {
        if (!lex.sp()) {
          return false;
        }
        spec.push_back(' ');
      }
      auto f = lex.astring();
      if (!f || f->empty()) {
        return lex.fail("Invalid header field name");
      }
      sec.fields.push_back(upper(*f));
      spec += sec.fields.back();
    }
    if (sec.fields.empty()) {
      return lex.fail("Empty header list");
    }
    spec.push_back(')');
  } else {
    return lex.fail("Invalid section " + word);
  }
}
  if (!lex.skip(']')) {
    return lex.fail("Expected ']'");
  }
  sec.spec = std::move(spec);
  return true;
}

bool parse_partial(lexer& lex, fetch_att& att) {
  if (!lex.skip('<')) {
    return true;
  }
  auto off = lex.number();
  if (!off || !lex.skip('.')) {
    return lex.fail("Invalid partial");
  }
  auto count = lex.nz_number();
  if (!count || !lex.skip('>')) {
    return lex.fail("Invalid partial");
  }
  att.partial = std::make_pair(*off, *count);
  return true;
}

bool parse_att(lexer& lex, std::vector<fetch_att>& out) {
  auto w = lex.fetch_word();
  if (!w) {
    return false;
  }
  auto n = upper(*w);
  fetch_att a;
  using k = fetch_att::kind;
  if (n == "ALL" || n == "FAST" || n == "FULL") {
    // Macros (RFC 9051 §6.4.5): only valid alone; the caller checks.
    out.push_back({k::flags});
    out.push_back({k::internaldate});
    out.push_back({k::rfc822_size});
    if (n != "FAST") {
      out.push_back({k::envelope});
    }
    if (n == "FULL") {
      out.push_back({k::body_nonext});
    }
    return true;
  }
  if (n == "FLAGS") {
    a.k = k::flags;
  } else if (n == "INTERNALDATE") {
    a.k = k::internaldate;
  } else if (n == "RFC822.SIZE") {
    a.k = k::rfc822_size;
  } else if (n == "ENVELOPE") {
    a.k = k::envelope;
  } else if (n == "BODYSTRUCTURE") {
    a.k = k::bodystructure;
  } else if (n == "UID") {
    a.k = k::uid;
  } else if (n == "MODSEQ") {
    a.k = k::modseq;
  } else if (n == "RFC822") {
    a.k = k::rfc822;
  } else if (n == "RFC822.HEADER") {
    a.k = k::rfc822_header;
  } else if (n == "RFC822.TEXT") {
    a.k = k::rfc822_text;
  } else if (n == "BODY" || n == "BODY.PEEK") {
    a.peek = n == "BODY.PEEK";
    if (!lex.skip('[')) {
      if (a.peek) {
        return lex.fail("BODY.PEEK needs a section");
      }
      a.k = k::body_nonext;
      out.push_back(std::move(a));
      return true;
    }
    a.k = k::body_section;
    if (!parse_section(lex, a.section, false) || !parse_partial(lex, a)) {
      return false;
    }
  } else if (n == "BINARY" || n == "BINARY.PEEK" || n == "BINARY.SIZE") {
    a.k = n == "BINARY.SIZE" ? k::binary_size : k::binary;
    a.peek = n == "BINARY.PEEK";
    if (!lex.skip('[')) {
      return lex.fail(n + " needs a section");
    }
    if (!parse_section(lex, a.section, true)) {
      return false;
    }
    if (a.k == k::binary && !parse_partial(lex, a)) {
      return false;
    }
  } else {
    return lex.fail("Unknown FETCH attribute " + n);
  }
  out.push_back(std::move(a));
  return true;
}

}  // namespace

std::optional<fetch_args> parse_fetch(lexer& lex) {
  fetch_args a;
  auto set = parse_seqset(lex);
  if (!set || !lex.sp()) {
    return std::nullopt;
  }
  a.set = std::move(*set);
  if (lex.peek() == '(') {
    if (!lex.open()) {
      return std::nullopt;
    }
    bool first = true;
    while (!lex.skip(')')) {
      if (!first && !lex.sp()) {
        return std::nullopt;
      }
      first = false;
      auto before = a.atts.size();
      auto save = lex.position();
      if (!parse_att(lex, a.atts)) {
        return std::nullopt;
      }
      auto w = upper(lex.slice(save, lex.position()));
      if (a.atts.size() - before > 1 && (w == "ALL" || w == "FAST" || w == "FULL")) {
        lex.fail("FETCH macros cannot be in a list");
        return std::nullopt;
      }
    }
    if (a.atts.empty()) {
      lex.fail("Empty FETCH attribute list");
      return std::nullopt;
    }
  } else if (!parse_att(lex, a.atts)) {
    return std::nullopt;
  }
  if (lex.skip(' ')) {
    if (!lex.open()) {
      return std::nullopt;
    }
    bool first = true;
    while (!lex.skip(')')) {
      if (!first && !lex.sp()) {
        return std::nullopt;
      }
      first = false;
      auto m = lex.atom();
      if (!m) {
        return std::nullopt;
      }
      auto n = upper(*m);
      if (n == "CHANGEDSINCE") {
        auto v = lex.sp() ? lex.number64() : std::nullopt;
        if (!v) {
          return std::nullopt;
        }
        a.changed_since = *v;
      } else if (n == "VANISHED") {
        a.vanished = true;
      } else {
        lex.fail("Unknown FETCH modifier " + n);
        return std::nullopt;
      }
    }
    if (a.vanished && !a.changed_since) {
      lex.fail("VANISHED needs CHANGEDSINCE");
      return std::nullopt;
    }
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
