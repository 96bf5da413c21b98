// Per-command argument parsers: a table of inputs that must parse and of
// malformed inputs that must be refused with a reason (sent in BAD).
#include "homthu/imap/proto/args.hpp"
#include "homthu/imap/proto/writer.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace {

using namespace homthu::imap::proto;

struct args_case {
  const char* command;
  const char* args;
  bool ok;
};

bool parses(const std::string& cmd, const std::string& text, std::string& why) {
  lexer lex(text);
  bool ok = false;
  if (cmd == "LOGIN") ok = parse_login(lex).has_value();
  else if (cmd == "AUTHENTICATE") ok = parse_authenticate(lex).has_value();
  else if (cmd == "CREATE") ok = parse_create(lex).has_value();
  else if (cmd == "RENAME") ok = parse_rename(lex).has_value();
  else if (cmd == "SELECT") ok = parse_select(lex).has_value();
  else if (cmd == "LIST") ok = parse_list(lex, false).has_value();
  else if (cmd == "STATUS") ok = parse_status(lex).has_value();
  else if (cmd == "FETCH") ok = parse_fetch(lex).has_value();
  else if (cmd == "STORE") ok = parse_store(lex).has_value();
  else if (cmd == "COPY") ok = parse_copy(lex).has_value();
  else if (cmd == "SEARCH") ok = parse_search(lex).has_value();
  else if (cmd == "SORT") ok = parse_sort(lex).has_value();
  else if (cmd == "THREAD") ok = parse_thread(lex).has_value();
  else if (cmd == "ID") ok = parse_id(lex).has_value();
  else if (cmd == "ENABLE") ok = parse_enable(lex).has_value();
  why = lex.error();
  return ok;
}

class args : public ::testing::TestWithParam<args_case> {};

TEST_P(args, parse_or_refuse_with_reason) {
  const auto& c = GetParam();
  std::string why;
  bool ok = parses(c.command, c.args, why);
  EXPECT_EQ(ok, c.ok) << c.command << " " << c.args << " → " << why;
  if (!c.ok) {
    EXPECT_FALSE(why.empty()) << "a refusal must say why";
  }
}

INSTANTIATE_TEST_SUITE_P(
    proto, args,
    ::testing::Values(
        args_case{"LOGIN", "an@thainguyen.gov.vn secret", true},
        args_case{"LOGIN", "\"an\" {6}\r\nsecret", true},
        args_case{"LOGIN", "an", false},
        args_case{"LOGIN", "an \"unterminated", false},
        args_case{"LOGIN", "an {10}\r\nshort", false},
        args_case{"AUTHENTICATE", "PLAIN AGFuAHNlY3JldA==", true},
        args_case{"AUTHENTICATE", "PLAIN =", true},
        args_case{"AUTHENTICATE", "PLAIN a*b", false},
        args_case{"CREATE", "Archive (USE (\\Archive))", true},
        args_case{"CREATE", "Archive (USE \\Archive)", false},
        args_case{"RENAME", "a b", true},
        args_case{"RENAME", "a", false},
        args_case{"SELECT", "INBOX", true},
        args_case{"SELECT", "INBOX (CONDSTORE)", true},
        args_case{"SELECT", "INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", true},
        args_case{"SELECT", "INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10 41:50)))", true},
        args_case{"SELECT", "INBOX (BOGUS)", false},
        args_case{"LIST", "\"\" *", true},
        args_case{"LIST", "\"\" %/%", true},
        args_case{"LIST", "(SUBSCRIBED) \"\" (INBOX Sent*) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))", true},
        args_case{"LIST", "\"\" * RETURN (STATUS (BOGUS))", false},
        args_case{"LIST", "(RECURSIVEMATCH) \"\" *", false},
        args_case{"STATUS", "INBOX (MESSAGES UIDNEXT SIZE HIGHESTMODSEQ)", true},
        args_case{"STATUS", "INBOX ()", false},
        args_case{"STATUS", "INBOX (FOO)", false},
        args_case{"FETCH", "1:* (FLAGS UID)", true},
        args_case{"FETCH", "1 ALL", true},
        args_case{"FETCH", "1 (ALL)", false},
        args_case{"FETCH", "1 BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>", true},
        args_case{"FETCH", "1 (BODY[1.2.MIME] BODY[1.TEXT] BINARY[2] BINARY.SIZE[2] BODY[])", true},
        args_case{"FETCH", "1 (FLAGS) (CHANGEDSINCE 12345 VANISHED)", true},
        args_case{"FETCH", "1 (FLAGS) (VANISHED)", false},
        args_case{"FETCH", "1 BODY[MIME]", false},
        args_case{"FETCH", "1 BINARY[HEADER]", false},
        args_case{"FETCH", "1 BODY[HEADER.FIELDS ()]", false},
        args_case{"FETCH", "1 BODY[]<0.0>", false},
        args_case{"FETCH", "1 (FLAGS", false},
        args_case{"FETCH", "0 FLAGS", false},
        args_case{"FETCH", "1 FOO", false},
        args_case{"STORE", "1:3 +FLAGS.SILENT (\\Seen \\Flagged)", true},
        args_case{"STORE", "1 (UNCHANGEDSINCE 5) FLAGS \\Seen $Important", true},
        args_case{"STORE", "1 +FLAGZ (\\Seen)", false},
        args_case{"COPY", "1:* \"Thư mục\"", true},
        args_case{"SEARCH", "ALL", true},
        args_case{"SEARCH", "CHARSET UTF-8 SUBJECT \"hành chính\"", true},
        args_case{"SEARCH", "RETURN (MIN MAX COUNT) UNSEEN", true},
        args_case{"SEARCH", "OR FROM a (TO b NOT SEEN) SINCE 1-Feb-2024 UID 1:* 2,4 HEADER X-Y z", true},
        args_case{"SEARCH", "LARGER 100 SMALLER 5000 KEYWORD $Junk MODSEQ 4 YOUNGER 60", true},
        args_case{"SEARCH", "SINCE 31-Foo-2024", false},
        args_case{"SEARCH", "BOGUS", false},
        args_case{"SEARCH", "RETURN (FOO) ALL", false},
        args_case{"SORT", "(REVERSE DATE SUBJECT) UTF-8 ALL", true},
        args_case{"SORT", "(REVERSE) UTF-8 ALL", false},
        args_case{"THREAD", "REFERENCES UTF-8 ALL", true},
        args_case{"ID", "(\"name\" \"Thunderbird\" \"version\" NIL)", true},
        args_case{"ID", "NIL", true},
        args_case{"ENABLE", "CONDSTORE UTF8=ACCEPT", true}));

TEST(args, deep_nesting_is_refused_not_recursed) {
  // I1: "(" nested 10^5 deep.
  std::string deep = std::string(100000, '(') + "ALL" + std::string(100000, ')');
  std::string why;
  EXPECT_FALSE(parses("SEARCH", deep, why));
  EXPECT_NE(why.find("nested"), std::string::npos) << why;
  std::string nots;
  for (int i = 0; i < 5000; ++i) {
    nots += "NOT ";
  }
  EXPECT_FALSE(parses("SEARCH", nots + "ALL", why));
}

TEST(args, nul_in_quoted_string_is_refused) {
  // I6 (CVE-2019-11500)
  std::string why;
  EXPECT_FALSE(parses("LOGIN", std::string("an \"sec\0ret\"", 12), why));
  EXPECT_NE(why.find("NUL"), std::string::npos) << why;
}

TEST(args, fetch_section_details) {
  lexer lex("7 (UID BODY.PEEK[1.2.HEADER.FIELDS.NOT (received x-spam)]<10.20>)");
  auto f = parse_fetch(lex);
  ASSERT_TRUE(f) << lex.error();
  ASSERT_EQ(f->atts.size(), 2u);
  const auto& a = f->atts[1];
  EXPECT_EQ(a.k, fetch_att::kind::body_section);
  EXPECT_TRUE(a.peek);
  EXPECT_EQ(a.section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(a.section.kind, fetch_section::text::header_fields_not);
  EXPECT_EQ(a.section.fields, (std::vector<std::string>{"RECEIVED", "X-SPAM"}));
  EXPECT_EQ(a.section.spec, "1.2.HEADER.FIELDS.NOT (RECEIVED X-SPAM)");
  ASSERT_TRUE(a.partial);
  EXPECT_EQ(a.partial->first, 10u);
  EXPECT_EQ(a.partial->second, 20u);
}

TEST(args, append_message_head) {
  lexer lex("(\\Seen $Work) \"05-Mar-2024 10:20:30 +0700\" {310}");
  auto m = parse_append_message(lex);
  ASSERT_TRUE(m) << lex.error();
  EXPECT_EQ(m->flags, (std::vector<std::string>{"\\Seen", "$Work"}));
  ASSERT_TRUE(m->internal_date);
  // 10:20:30 +0700 is 03:20:30 UTC.
  EXPECT_EQ(format_date_time(*m->internal_date), "05-Mar-2024 03:20:30 +0000");
  lexer bad("\"35-Mar-2024 10:20:30 +0700\" {1}");
  EXPECT_FALSE(parse_append_message(bad));
}

TEST(writer, chooses_atom_quoted_or_literal) {
  std::string out;
  append_astring(out, "INBOX");
  EXPECT_EQ(out, "INBOX");
  out.clear();
  append_astring(out, "a b\"c");
  EXPECT_EQ(out, "\"a b\\\"c\"");
  out.clear();
  append_astring(out, "line\r\nbreak");
  EXPECT_EQ(out, "{11}\r\nline\r\nbreak");
  out.clear();
  append_astring(out, "NIL");
  EXPECT_EQ(out, "\"NIL\"");
  out.clear();
  append_mailbox(out, "Thư", false);
  EXPECT_EQ(out, "Th&AbA-");
  out.clear();
  append_mailbox(out, "Thư", true);
  EXPECT_EQ(out, "\"Thư\"");
  std::string decoded;
  EXPECT_TRUE(decode_mailbox("Th&AbA-", false, decoded));
  EXPECT_EQ(decoded, "Thư");
  EXPECT_FALSE(decode_mailbox("Th&AbA", false, decoded));
}

}  // namespace
