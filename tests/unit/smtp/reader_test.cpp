// Line and DATA readers, fed in one piece and one byte at a time. The DATA
// cases include the ten smtpsmug end-of-data variants (RELIABILITY.md S1):
// none may end the message early or split it in two.
#include "homthu/smtp/proto/reader.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace homthu::smtp::proto {
namespace {

struct data_run {
  bool done = false;
  std::string out;
  std::size_t consumed = 0;
  enum data_reader::problem problem = data_reader::problem::none;
};

data_run run_data(std::string_view in, bool byte_at_a_time, std::uint64_t max = 1 << 20) {
  data_reader r(max);
  data_run res;
  if (byte_at_a_time) {
    for (std::size_t i = 0; i < in.size() && !res.done; ++i) {
      auto p = r.feed(in.substr(i, 1), res.out);
      res.consumed += p.consumed;
      res.done = p.done;
    }
  } else {
    auto p = r.feed(in, res.out);
    res.consumed = p.consumed;
    res.done = p.done;
  }
  res.problem = r.problem();
  return res;
}

TEST(data_reader, plain_message_and_following_command) {
  const std::string in = "Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n";
  for (bool bytewise : {false, true}) {
    auto r = run_data(in, bytewise);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.out, "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(in.substr(r.consumed), "QUIT\r\n");
    EXPECT_EQ(r.problem, data_reader::problem::none);
  }
}

TEST(data_reader, empty_message) {
  auto r = run_data(".\r\n", false);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.out, "");
}

TEST(data_reader, dot_unstuffing_rfc5321_4_5_2) {
  const std::string in = "..leading\r\n...\r\n.x\r\n.. \r\n.\r\n";
  for (bool bytewise : {false, true}) {
    auto r = run_data(in, bytewise);
    ASSERT_TRUE(r.done);
    EXPECT_EQ(r.out, ".leading\r\n..\r\nx\r\n. \r\n");
  }
}

TEST(data_reader, dot_inside_line_is_content) {
  auto r = run_data("a.\r\nb\r\n.\r\n", false);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.out, "a.\r\nb\r\n");
}

struct smug_case {
  std::string name;
  std::string end;  // what the smuggler hopes ends the first message
};

class smuggling : public ::testing::TestWithParam<smug_case> {};

// One DATA carrying a fake end of data and a second transaction behind it,
// then the real end. Expected: one refused message, nothing after the fake
// end treated as a command, and the reader stops exactly at the real end.
TEST_P(smuggling, never_splits) {
  const auto& c = GetParam();
  const std::string smuggled =
      "MAIL FROM:<admin@thainguyen.gov.vn>\r\nRCPT TO:<victim@thainguyen.gov.vn>\r\nDATA\r\n"
      "Subject: smuggled\r\n\r\nevil\r\n";
  const std::string in = "Subject: first\r\n\r\nhello" + c.end + smuggled + ".\r\nNOOP\r\n";
  for (bool bytewise : {false, true}) {
    auto r = run_data(in, bytewise);
    ASSERT_TRUE(r.done) << c.name;
    EXPECT_EQ(in.substr(r.consumed), "NOOP\r\n") << c.name;
    EXPECT_NE(r.problem, data_reader::problem::none) << c.name;
    EXPECT_EQ(r.out.find("MAIL FROM"), std::string::npos) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    smtpsmug, smuggling,
    ::testing::Values(smug_case{"lf_dot_lf", "\n.\n"}, smug_case{"lf_dot_crlf", "\n.\r\n"},
                      smug_case{"crlf_dot_lf", "\r\n.\n"}, smug_case{"cr_dot_crlf", "\r.\r\n"},
                      smug_case{"crlf_dot_cr", "\r\n.\r"}, smug_case{"cr_dot_cr", "\r.\r"},
                      smug_case{"cr_dot_lf", "\r.\n"}, smug_case{"lf_dot_cr", "\n.\r"},
                      smug_case{"nul_before_dot", std::string("\r\n\0.\r\n", 6)},
                      smug_case{"nul_after_dot", std::string("\r\n.\0\r\n", 6)}),
    [](const auto& info) { return info.param.name; });

TEST(data_reader, nul_around_the_dot_is_refused) {
  const std::string nul_before("\r\n\0.\r\n", 6);
  auto r = run_data("x" + nul_before + "y\r\n.\r\n", false);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.problem, data_reader::problem::nul);
  const std::string nul_after("\r\n.\0\r\n", 6);
  auto s = run_data("x" + nul_after + "y\r\n.\r\n", true);
  ASSERT_TRUE(s.done);
  EXPECT_EQ(s.problem, data_reader::problem::nul);
}

TEST(data_reader, too_big_is_read_to_the_end) {
  std::string in = std::string(100, 'a') + "\r\n.\r\nRSET\r\n";
  auto r = run_data(in, false, 50);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(r.problem, data_reader::problem::too_big);
  EXPECT_LE(r.out.size(), 50u);
  EXPECT_EQ(in.substr(r.consumed), "RSET\r\n");
}

TEST(line_reader, splits_lines_bytewise_and_whole) {
  const std::string in = "EHLO a\r\nMAIL FROM:<a@b.c>\nNOOP\r\nRSET";
  for (bool bytewise : {false, true}) {
    line_reader lr(512);
    std::vector<std::string> lines;
    auto drain = [&] {
      for (;;) {
        auto e = lr.next();
        if (e.what != line_reader::kind::line) {
          break;
        }
        lines.emplace_back(e.line);
      }
    };
    if (bytewise) {
      for (char c : in) {
        lr.feed(std::string_view(&c, 1));
        drain();
      }
    } else {
      lr.feed(in);
      drain();
    }
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "EHLO a");
    EXPECT_EQ(lines[1], "MAIL FROM:<a@b.c>");
    EXPECT_EQ(lines[2], "NOOP");
    EXPECT_EQ(lr.buffered(), "RSET");
  }
}

TEST(line_reader, over_long_line_is_dropped_with_bounded_memory) {
  line_reader lr(512);
  // 1 MiB without a newline, fed in 4 KiB chunks, then the end of the line.
  const std::string chunk(4096, 'x');
  for (int i = 0; i < 256; ++i) {
    lr.feed(chunk);
    EXPECT_EQ(lr.next().what, line_reader::kind::need_more);
    EXPECT_LE(lr.buffered().size(), 512u + chunk.size());
  }
  lr.feed("xx\r\nNOOP\r\n");
  EXPECT_EQ(lr.next().what, line_reader::kind::too_long);
  auto e = lr.next();
  ASSERT_EQ(e.what, line_reader::kind::line);
  EXPECT_EQ(e.line, "NOOP");
}

TEST(line_reader, clear_discards_pipelined_plaintext) {
  line_reader lr(512);
  lr.feed("STARTTLS\r\nRSET\r\n");
  auto e = lr.next();
  ASSERT_EQ(e.what, line_reader::kind::line);
  EXPECT_EQ(e.line, "STARTTLS");
  lr.clear();
  EXPECT_TRUE(lr.empty());
  EXPECT_EQ(lr.next().what, line_reader::kind::need_more);
}

}  // namespace
}  // namespace homthu::smtp::proto
