// The parse done once at delivery: ENVELOPE, BODY, BODYSTRUCTURE in exact
// IMAP syntax, decoded fields, and bounded behaviour on hostile MIME.

#include "../../../storage/src/mime/parse.hpp"
#include "../../../storage/src/mime/syntax.hpp"
#include "test_util.hpp"

#include <chrono>

namespace homthu::storage::testing {
namespace {

// The parse deliver() makes, over the text in memory.
mime::parsed parse_text(const std::string& s) { return std::move(parse_ahead(s)->value); }

std::string sample(const std::string& name) { return read_file(std::string(HOMTHU_TEST_DATA) + "/storage/" + name); }

// Balanced parentheses outside quoted strings and literals: the minimum a
// client parser needs.
bool balanced(const std::string& s) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') {
          ++i;
        }
      }
    } else if (c == '{') {
      std::size_t close = s.find('}', i);
      std::size_t n = std::stoul(s.substr(i + 1, close - i - 1));
      i = close + 2 + n;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) {
        return false;
      }
    }
  }
  return depth == 0;
}

int max_nesting(const std::string& s) {
  int depth = 0, best = 0;
  bool q = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (q) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        q = false;
      }
    } else if (s[i] == '"') {
      q = true;
    } else if (s[i] == '(') {
      best = std::max(best, ++depth);
    } else if (s[i] == ')') {
      --depth;
    }
  }
  return best;
}

TEST(parse, simple_text_message) {
  auto p = parse_text("From: An <an@x.vn>\r\nSubject: hi\r\n\r\nHello.\r\n");
  EXPECT_EQ(p.meta.bodystructure, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL)");
  EXPECT_EQ(p.meta.body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1)");
  EXPECT_EQ(p.meta.envelope,
            "(NIL \"hi\" ((\"An\" NIL \"an\" \"x.vn\")) ((\"An\" NIL \"an\" \"x.vn\")) ((\"An\" NIL \"an\" \"x.vn\")) "
            "NIL NIL NIL NIL NIL)");
  EXPECT_EQ(p.meta.header_size, 35u);
  EXPECT_EQ(p.body_text, "Hello.\r\n\n");
}

// The indexed text is valid UTF-8 whatever the body holds: NUL becomes a
// space and an invalid byte U+FFFD, at any offset within the eight-byte
// words the ASCII scan takes at a time; each text part is appended.
TEST(parse, indexed_text_is_valid_utf8_at_every_offset) {
  std::string want;
  std::string parts;
  for (int off = 0; off < 17; ++off) {
    const std::string run(static_cast<std::size_t>(off), 'a');
    const std::string body = run + std::string("\0", 1) + run + "\xff" + run + "\xE1\xBB\x87" + run + "\xE1\xBB" + "\r\n";
    parts += "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
    // The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1).
    want += run + " " + run + "\xEF\xBF\xBD" + run + "\xE1\xBB\x87" + run + "\xEF\xBF\xBD\xEF\xBF\xBD" + "\n";
  }
  auto p = parse_text("Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts +
                      "--b--\r\n");
  EXPECT_EQ(p.body_text, want);
}

TEST(parse, vietnamese_multipart_sample) {
  auto p = parse_text(sample("vn-multipart.eml"));
  EXPECT_EQ(p.meta.bodystructure,
            "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 163 2 NIL NIL NIL NIL)"
            "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 131 1 NIL NIL NIL NIL) \"alternative\" "
            "(\"boundary\" \"=_alt\") NIL NIL NIL)"
            "(\"application\" \"pdf\" (\"name\" \"cong-van.pdf\") NIL NIL \"base64\" 20 NIL "
            "(\"attachment\" (\"filename\" \"cong-van.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"=_outer\") NIL NIL NIL)");
  EXPECT_EQ(p.meta.body,
            "(((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 163 2)"
            "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 131 1) \"alternative\")"
            "(\"application\" \"pdf\" (\"name\" \"cong-van.pdf\") NIL NIL \"base64\" 20) \"mixed\")");
  std::string from = "((\"=?UTF-8?B?VsSDbiB0aMawIFPhu58gTuG7mWkgduG7pQ==?=\" NIL \"vanthu\" \"thainguyen.gov.vn\"))";
  EXPECT_EQ(p.meta.envelope,
            "(\"Tue, 03 Jun 2025 09:15:00 +0700\" "
            "\"=?UTF-8?Q?Re:_[C=C3=B4ng_v=C4=83n]_H=C3=A0nh_ch=C3=ADnh_c=C3=B4ng_?= =?UTF-8?Q?=C4=91=E1=BB=A3t_2?=\" " +
                from + " " + from + " " + from +
                " ((\"Nguyen Van Binh\" NIL \"binh\" \"thainguyen.gov.vn\")(NIL NIL \"an\" \"thainguyen.gov.vn\")) "
                "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL "
                "\"<cv-2025-0601@thainguyen.gov.vn>\" \"<cv-2025-0603@thainguyen.gov.vn>\")");
  EXPECT_EQ(p.meta.subject, "Re: [Công văn] Hành chính công đợt 2");
  EXPECT_EQ(p.meta.base_subject, "Hành chính công đợt 2");
  EXPECT_EQ(p.meta.from, "Văn thư Sở Nội vụ <vanthu@thainguyen.gov.vn>");
  EXPECT_EQ(p.meta.display_from, "Văn thư Sở Nội vụ");
  EXPECT_EQ(p.meta.sort_from, "vanthu");
  EXPECT_EQ(p.meta.to, "Nguyen Van Binh <binh@thainguyen.gov.vn>, an@thainguyen.gov.vn");
  EXPECT_EQ(p.meta.display_to, "Nguyen Van Binh");
  EXPECT_EQ(p.meta.message_id, "<cv-2025-0603@thainguyen.gov.vn>");
  EXPECT_EQ(p.meta.in_reply_to, "<cv-2025-0601@thainguyen.gov.vn>");
  EXPECT_EQ(p.meta.sent_date, 1748916900);  // 2025-06-03T02:15:00Z
  EXPECT_EQ(p.meta.header_size, 540u);
  // Quoted-printable decoded, HTML stripped (style skipped, entities decoded),
  // attachment not indexed.
  EXPECT_NE(p.body_text.find("Kính gửi các đồng chí,"), std::string::npos) << p.body_text;
  EXPECT_NE(p.body_text.find("Đại Từ."), std::string::npos);
  EXPECT_NE(p.body_text.find("Kính gửi THAI NGUYEN & bạn"), std::string::npos) << p.body_text;
  EXPECT_EQ(p.body_text.find("color"), std::string::npos);
  EXPECT_EQ(p.body_text.find("JVBERi"), std::string::npos);
}

TEST(parse, forwarded_message_rfc822) {
  auto p = parse_text(sample("forward.eml"));
  std::string inner_env =
      "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"original\" ((\"Old Sender\" NIL \"old\" \"example.com\")) "
      "((\"Old Sender\" NIL \"old\" \"example.com\")) ((\"Old Sender\" NIL \"old\" \"example.com\")) NIL NIL NIL NIL NIL)";
  EXPECT_EQ(p.meta.bodystructure,
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 131 " +
                inner_env +
                " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 36 2 NIL NIL NIL NIL) 6 NIL NIL NIL NIL)"
                " \"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)");
  EXPECT_EQ(p.meta.body,
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 131 " +
                inner_env + " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 36 2) 6) \"mixed\")");
  EXPECT_NE(p.body_text.find("inner body line 2"), std::string::npos);
}

TEST(parse, latin1_charset_is_converted) {
  auto p = parse_text(sample("latin1.eml"));
  EXPECT_EQ(p.meta.subject, "café");
  EXPECT_EQ(p.meta.from, "André <andre@example.fr>");
  EXPECT_NE(p.body_text.find("Un café crème."), std::string::npos);
  EXPECT_EQ(p.meta.bodystructure,
            "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"8bit\" 16 1 NIL NIL NIL NIL)");
}

TEST(parse, eight_bit_header_values_become_literals) {
  auto p = parse_text("Subject: Hành chính\r\nFrom: \"Bình\" <b@x.vn>\r\n\r\nx");
  EXPECT_TRUE(p.meta.envelope.starts_with("(NIL {12}\r\nHành chính ((")) << p.meta.envelope;
  EXPECT_TRUE(balanced(p.meta.envelope));
  EXPECT_EQ(p.meta.subject, "Hành chính");
  EXPECT_EQ(p.meta.bodystructure, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1 NIL NIL NIL NIL)");
}

TEST(parse, quoting_in_envelope) {
  auto p = parse_text("Subject: say \"hi\" \\ bye\r\nFrom: \"Nguyen, \\\"A\\\"\" <a@x.vn>\r\n\r\n");
  EXPECT_TRUE(p.meta.envelope.starts_with("(NIL \"say \\\"hi\\\" \\\\ bye\" ((\"Nguyen, \\\"A\\\"\" NIL \"a\" \"x.vn\"))")) << p.meta.envelope;
  EXPECT_TRUE(balanced(p.meta.envelope));
}

TEST(parse, base_subject_rfc5256) {
  EXPECT_EQ(mime::base_subject("Re: Fwd: [list] Re: hello (fwd)"), "hello");
  EXPECT_EQ(mime::base_subject("[Fwd: Re: report]"), "report");
  EXPECT_EQ(mime::base_subject("RE:   spaced\t  out  "), "spaced out");
  EXPECT_EQ(mime::base_subject("[only blob]"), "[only blob]");
  EXPECT_EQ(mime::base_subject("Fw[x]: a"), "a");
  EXPECT_EQ(mime::base_subject(""), "");
}

TEST(parse, unterminated_and_missing_boundaries) {
  auto p = parse_text(
      "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nbody without end\r\n");
  EXPECT_EQ(p.meta.bodystructure,
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 18 1 NIL NIL NIL NIL) \"mixed\" "
            "(\"boundary\" \"zz\") NIL NIL NIL)");
  // Boundary announced but never used: still a valid multipart description.
  p = parse_text("Content-Type: multipart/mixed; boundary=never\r\n\r\njust text\r\n");
  EXPECT_TRUE(balanced(p.meta.bodystructure));
  EXPECT_NE(p.meta.bodystructure.find("\"mixed\""), std::string::npos);
  // No boundary parameter at all.
  p = parse_text("Content-Type: multipart/mixed\r\n\r\njust text\r\n");
  EXPECT_EQ(p.meta.bodystructure,
            "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 11 NIL NIL NIL NIL)");
}

TEST(parse, deep_nesting_is_capped_and_linear) {
  std::string m;
  for (int i = 0; i < 1000; ++i) {
    m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  }
  m += "Content-Type: text/plain\r\n\r\ndeep\r\n";
  auto t0 = std::chrono::steady_clock::now();
  auto p = parse_text(m);
  auto dt = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(dt, std::chrono::seconds(5));
  EXPECT_TRUE(balanced(p.meta.bodystructure));
  EXPECT_LE(max_nesting(p.meta.bodystructure), static_cast<int>(mime::max_depth) + 3);
  EXPECT_GE(max_nesting(p.meta.bodystructure), 50);
}

TEST(parse, nested_message_rfc822_is_capped) {
  std::string m;
  for (int i = 0; i < 1000; ++i) {
    m += "Subject: level " + std::to_string(i) + "\r\nContent-Type: message/rfc822\r\n\r\n";
  }
  m += "Subject: core\r\n\r\ncore\r\n";
  auto p = parse_text(m);
  EXPECT_TRUE(balanced(p.meta.bodystructure));
  EXPECT_EQ(p.meta.subject, "level 0");
}

TEST(parse, many_parts_are_capped) {
  std::string m = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 20000; ++i) {
    m += "--p\r\n\r\nx\r\n";
  }
  m += "--p--\r\n";
  auto p = parse_text(m);
  EXPECT_TRUE(balanced(p.meta.bodystructure));
  std::size_t parts = 0;
  for (std::size_t i = 0; (i = p.meta.bodystructure.find("\"plain\"", i)) != std::string::npos; ++i) {
    ++parts;
  }
  EXPECT_LE(parts, mime::max_parts);
  EXPECT_GE(parts, 1000u);
}

TEST(parse, hundred_thousand_header_lines) {
  std::string m;
  for (int i = 0; i < 100000; ++i) {
    m += "X-Junk-" + std::to_string(i) + ": value\r\n";
  }
  m += "Subject: after junk\r\nTo: ";
  for (int i = 0; i < 20000; ++i) {
    m += "u" + std::to_string(i) + "@x.vn,\r\n ";
  }
  m += "last@x.vn\r\n\r\nbody\r\n";
  auto t0 = std::chrono::steady_clock::now();
  auto p = parse_text(m);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(p.meta.subject, "after junk");
  EXPECT_TRUE(balanced(p.meta.envelope));
  EXPECT_EQ(p.meta.header_size, m.size() - 6);
}

std::vector<std::string> hostile_inputs() {
  return {
      "",
      "\r\n",
      "no header separator at all",
      std::string("Subject: nul\0byte\r\n\r\nbody\0with nul\r\n", 36),
      "Subject: =?UTF-8?B?////?=\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n",
      "Subject: =?x-unknown-9?Q?abc?=\r\nContent-Type: text/plain; charset=x-unknown-9\r\n\r\n\xff\xfe\xc0\r\n",
      "Subject: \xff\xfe invalid utf8 \xc3\r\n\r\n\xed\xa0\x80\r\n",
      "Content-Type: text/html\r\n\r\n<script>never closed",
      "Content-Type: text/html\r\n\r\n&#99999999999; &#x110000; &amp",
      "From: <<<@@@>>>, ,,, \"unterminated\r\n\r\n",
      "From: (nested (comment (never closed\r\n\r\n",
      "Content-Type: multipart/mixed; boundary=\"" + std::string(5000, 'b') + "\"\r\n\r\n--" +
          std::string(5000, 'b') + "\r\n\r\nx\r\n",
      "Content-Type: message/rfc822\r\n\r\n",
      std::string(100000, 'a'),
  };
}

TEST(parse, hostile_bytes_never_crash) {
  const auto inputs = hostile_inputs();
  for (const auto& in : inputs) {
    auto p = parse_text(in);
    EXPECT_TRUE(balanced(p.meta.bodystructure)) << p.meta.bodystructure;
    EXPECT_TRUE(balanced(p.meta.envelope)) << p.meta.envelope;
    EXPECT_TRUE(balanced(p.meta.body));
  }
}

TEST(parse, long_lines_bounded) {
  std::string m = "Subject: big\r\nContent-Type: text/plain\r\n\r\n" + std::string(3 << 20, 'x') + "\r\n";
  auto p = parse_text(m);
  EXPECT_EQ(p.meta.bodystructure,
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" " + std::to_string((3 << 20) + 2) +
                " 1 NIL NIL NIL NIL)");
  EXPECT_LE(p.body_text.size(), mime::max_index_text);
}

// Everything a parse gives, in one comparable list.
std::vector<std::string> facts_of(const message_meta& m, const std::string& body_text) {
  return {m.envelope,     m.bodystructure, m.body,           m.subject,      m.base_subject,
          m.from,         m.to,            m.cc,             m.bcc,          m.sort_from,
          m.sort_to,      m.sort_cc,       m.display_from,   m.display_to,   m.message_id,
          m.in_reply_to,  m.references,    std::to_string(m.sent_date),      std::to_string(m.header_size),
          body_text};
}

// SMTP parses a message on port 25 before the trace fields go in front of
// it (storage::parse_ahead). With the trace's length added to the header
// size, that parse must be the parse of the message as stored, whatever the
// message: messages whose first line is not a header field, or that have no
// blank line, multipart and nested ones, and the hostile inputs above.
TEST(parse, ahead_of_the_trace_fields_is_the_parse_of_the_stored_message) {
  const std::string trace =
      "Return-Path: <sender@example.org>\r\n"
      "Received: from client.example.org ([198.51.100.20])\r\n\tby mail.thainguyen.gov.vn (homthu) with ESMTP id "
      "T1\r\n\tfor <an@thainguyen.gov.vn>; Sun, 29 Nov 2026 08:00:00 +0000\r\n"
      "Authentication-Results: mail.thainguyen.gov.vn;\r\n\tiprev=permerror policy.iprev=198.51.100.20;\r\n"
      "\tspf=none smtp.mailfrom=example.org;\r\n\tdkim=none;\r\n\tdmarc=none header.from=example.org\r\n";
  auto inputs = hostile_inputs();
  for (const auto* name : {"forward.eml", "latin1.eml", "vn-multipart.eml"}) {
    inputs.push_back(sample(name));
  }
  inputs.push_back(" a continuation first\r\nSubject: after it\r\n\r\nbody\r\n");
  inputs.push_back("\tSubject: folded onto the trace\r\nFrom: a@b.vn\r\n\r\nbody\r\n");
  inputs.push_back("Subject: no line end");
  inputs.push_back("Subject: only a header\r\nFrom: <a@b.vn>\r\n");
  inputs.push_back("Subject: bare\nFrom: a@b.vn\n\nline feeds only\n");
  inputs.push_back(
      "From: =?UTF-8?B?VHLhuqduIFbEg24gQW4=?= <an@thainguyen.gov.vn>\r\nTo: b@x.vn, c@x.vn\r\n"
      "Date: Sun, 29 Nov 2026 08:00:00 +0700\r\nMessage-ID: <1@x.vn>\r\n"
      "Content-Type: multipart/alternative; boundary=a\r\n\r\npreamble\r\n--a\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nS2luaCBn4butaQ==\r\n"
      "--a\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--a--\r\nepilogue\r\n");
  for (const auto& content : inputs) {
    SCOPED_TRACE(content.substr(0, 80));
    const auto stored = parse_text(trace + content);
    auto ahead = parse_ahead(content);
    ASSERT_TRUE(ahead);
    EXPECT_EQ(ahead->size, content.size());
    auto meta = ahead->value.meta;
    meta.header_size += static_cast<std::uint32_t>(trace.size());
    EXPECT_EQ(facts_of(meta, ahead->value.body_text), facts_of(stored.meta, stored.body_text));
  }
}

}  // namespace
}  // namespace homthu::storage::testing
