// Modified UTF-7 (RFC 3501 §5.1.3) and sequence sets.
#include "homthu/imap/proto/lexer.hpp"
#include "homthu/imap/proto/seqset.hpp"
#include "homthu/imap/proto/utf7.hpp"

#include <gtest/gtest.h>

namespace {

using namespace homthu::imap::proto;

TEST(utf7, round_trips_vietnamese_and_rfc_examples) {
  for (std::string x : {"INBOX", "~peter/mail/台北/日本語", "Thư đã gửi", "a&b", "Hộp thư", "😀 emoji"}) {
    auto enc = utf8_to_mutf7(x);
    ASSERT_TRUE(enc) << x;
    for (char ch : *enc) {
      EXPECT_TRUE(ch >= 0x20 && ch <= 0x7e) << *enc;
    }
    auto dec = mutf7_to_utf8(*enc);
    ASSERT_TRUE(dec) << *enc;
    EXPECT_EQ(*dec, x);
  }
  EXPECT_EQ(*utf8_to_mutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(*mutf7_to_utf8("&ZeVnLIqe-"), "日本語");
}

TEST(utf7, refuses_malformed_input) {
  for (const char* bad : {"&", "&Jjo", "&AGE-" /* 'a' encoded */, "&2D3-" /* lone surrogate */, "&*-",
                          "a\x01"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(mutf7_to_utf8(bad));
  }
  EXPECT_FALSE(mutf7_to_utf8("&AOM"));     // unterminated
  EXPECT_FALSE(mutf7_to_utf8("&AOMB-"));   // non-zero leftover bits
  EXPECT_FALSE(utf8_to_mutf7("\xc3"));     // truncated UTF-8
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));    // overlong
}

std::vector<std::uint32_t> seqs(const char* text, std::uint32_t count) {
  lexer lex(text);
  auto s = parse_seqset(lex);
  EXPECT_TRUE(s) << text;
  return s ? s->sequence_numbers(count) : std::vector<std::uint32_t>{};
}

TEST(seqset, resolves_ranges_star_and_reversed) {
  EXPECT_EQ(seqs("1:3", 10), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(seqs("3:1", 10), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(seqs("8:*", 10), (std::vector<std::uint32_t>{8, 9, 10}));
  EXPECT_EQ(seqs("*", 10), (std::vector<std::uint32_t>{10}));
  EXPECT_EQ(seqs("*:4", 5), (std::vector<std::uint32_t>{4, 5}));
  EXPECT_EQ(seqs("1,3,2:3,9", 4), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_TRUE(seqs("*", 0).empty());
  // I8: a huge span costs what the mailbox holds.
  EXPECT_EQ(seqs("1:4294967295", 3).size(), 3u);
}

TEST(seqset, uid_sets_match_existing_uids_only) {
  lexer lex("2:9,100:*");
  auto s = parse_seqset(lex);
  ASSERT_TRUE(s);
  std::vector<std::uint32_t> uids{1, 5, 9, 12, 40};
  EXPECT_EQ(s->uid_indexes(uids), (std::vector<std::uint32_t>{1, 2, 4}));  // 5, 9 and * = 40
}

TEST(seqset, refuses_bad_syntax) {
  for (const char* bad : {"0", "1:", ":3", "a", "1,,2", "4294967296"}) {
    lexer lex(bad);
    auto s = parse_seqset(lex);
    EXPECT_TRUE(!s || !lex.at_end()) << bad;
  }
  lexer saved("$");
  auto s = parse_seqset(saved);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->saved);
}

TEST(seqset, compresses_numbers) {
  std::vector<std::uint32_t> v{1, 2, 3, 5, 7, 8};
  EXPECT_EQ(compress_numbers(v), "1:3,5,7:8");
}

}  // namespace
