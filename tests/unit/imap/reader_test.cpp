// Command framing: every input is fed whole and one byte at a time, and the
// events must be the same (STYLE.md: parsers are fed byte by byte).
#include "homthu/imap/proto/reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using homthu::imap::proto::reader;
using homthu::imap::proto::reader_limits;

// Runs input through the reader, accepting every literal inline (or
// refusing those over `refuse_over`), and records what happened.
std::vector<std::string> run(const std::string& input, bool bytewise, reader_limits limits = {},
                             std::uint64_t refuse_over = ~0ull) {
  reader r(limits);
  std::vector<std::string> events;
  auto drain = [&] {
    for (int guard = 0; guard < 10000; ++guard) {
      auto k = r.next();
      switch (k) {
        case reader::kind::need_more:
          return;
        case reader::kind::command:
          events.push_back("cmd:" + std::string(r.text()));
          r.next_command();
          break;
        case reader::kind::literal:
          if (r.literal().size > refuse_over) {
            events.push_back("refuse:" + std::to_string(r.literal().size));
            r.refuse_literal();
          } else {
            events.push_back(std::string(r.literal().sync ? "sync:" : "nonsync:") +
                             std::to_string(r.literal().size));
            r.accept_literal();
          }
          break;
        case reader::kind::too_long:
          events.push_back("too_long");
          break;
        default:
          events.push_back("unexpected");
          return;
      }
    }
  };
  if (bytewise) {
    for (char c : input) {
      r.feed(std::string_view(&c, 1));
      drain();
    }
  } else {
    r.feed(input);
    drain();
  }
  return events;
}

struct framing_case {
  const char* name;
  std::string input;
  std::vector<std::string> expected;
};

class framing : public ::testing::TestWithParam<framing_case> {};

TEST_P(framing, same_events_whole_and_bytewise) {
  const auto& c = GetParam();
  EXPECT_EQ(run(c.input, false), c.expected);
  EXPECT_EQ(run(c.input, true), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    reader, framing,
    ::testing::Values(
        framing_case{"simple", "a1 NOOP\r\n", {"cmd:a1 NOOP"}},
        framing_case{"bare_lf", "a1 NOOP\n", {"cmd:a1 NOOP"}},
        framing_case{"pipelined", "a1 NOOP\r\na2 CAPABILITY\r\n", {"cmd:a1 NOOP", "cmd:a2 CAPABILITY"}},
        framing_case{"partial_is_not_a_command", "a1 NOO", {}},
        framing_case{"sync_literal",
                     "a1 LOGIN {3}\r\nabc {4}\r\npass\r\n",
                     {"sync:3", "sync:4", "cmd:a1 LOGIN {3}\r\nabc {4}\r\npass"}},
        framing_case{"nonsync_literal",
                     "a1 LOGIN {3+}\r\nabc pw\r\n",
                     {"nonsync:3", "cmd:a1 LOGIN {3+}\r\nabc pw"}},
        framing_case{"literal_minus", "a1 LOGIN {3-}\r\nabc pw\r\n", {"nonsync:3", "cmd:a1 LOGIN {3-}\r\nabc pw"}},
        framing_case{"literal_holds_crlf",
                     "a SEARCH TEXT {4}\r\n\r\n\r\n\r\n",
                     {"sync:4", "cmd:a SEARCH TEXT {4}\r\n\r\n\r\n"}},
        framing_case{"brace_inside_quotes_is_not_literal", "a1 LOGIN \"{3}\" x\r\n", {"cmd:a1 LOGIN \"{3}\" x"}},
        framing_case{"empty_line", "\r\n", {"cmd:"}}),
    [](const auto& info) { return info.param.name; });

TEST(reader, over_long_line_is_reported_once_and_skipped) {
  reader_limits l;
  l.max_line = 100;
  l.max_command = 100;
  std::string big = "a1 NOOP " + std::string(5000, 'x') + "\r\na2 NOOP\r\n";
  std::vector<std::string> expected{"too_long", "cmd:a2 NOOP"};
  EXPECT_EQ(run(big, false, l), expected);
  EXPECT_EQ(run(big, true, l), expected);
}

TEST(reader, line_of_8192_bytes_is_accepted_with_default_limits) {
  std::string cmd = "a1 SEARCH TEXT \"" + std::string(8192, 'y') + "\"";
  auto ev = run(cmd + "\r\n", false);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], "cmd:" + cmd);
}

TEST(reader, refused_sync_literal_reads_nothing_of_it) {
  // I2: the client waits for "+", so after NO it sends the next command.
  auto ev = run("a1 APPEND INBOX {99999999999}\r\na2 NOOP\r\n", true, {}, 1000);
  std::vector<std::string> expected{"refuse:99999999999", "cmd:a2 NOOP"};
  EXPECT_EQ(ev, expected);
}

TEST(reader, inline_literal_must_fit_the_command_bound) {
  reader_limits l;
  l.max_command = 1000;
  reader r(l);
  r.feed("a1 LOGIN {5000}\r\n");
  ASSERT_EQ(r.next(), reader::kind::literal);
  EXPECT_FALSE(r.fits_inline());
  reader r2(l);
  r2.feed("a1 LOGIN {500}\r\n");
  ASSERT_EQ(r2.next(), reader::kind::literal);
  EXPECT_TRUE(r2.fits_inline());
}

TEST(reader, streamed_literal_comes_out_in_chunks_then_the_rest_of_the_command) {
  reader r;
  std::string body(3000, 'm');
  std::string input = "a1 APPEND INBOX {3000}\r\n" + body + " (\\Seen) {2}\r\nhi\r\n";
  std::string got;
  std::vector<std::string> events;
  for (char c : input) {
    r.feed(std::string_view(&c, 1));
    for (int guard = 0; guard < 100; ++guard) {
      auto k = r.next();
      if (k == reader::kind::need_more) {
        break;
      }
      if (k == reader::kind::literal) {
        events.push_back("lit:" + std::string(r.text()));
        r.stream_literal();
      } else if (k == reader::kind::literal_data) {
        got.append(r.data());
      } else if (k == reader::kind::literal_end) {
        events.push_back("end");
      } else if (k == reader::kind::command) {
        events.push_back("cmd:" + std::string(r.text()));
        r.next_command();
      }
    }
  }
  std::vector<std::string> expected{"lit:a1 APPEND INBOX {3000}", "end", "lit: (\\Seen) {2}", "end", "cmd:"};
  EXPECT_EQ(events, expected);
  EXPECT_EQ(got, body + "hi");
}

TEST(reader, discard_input_drops_pipelined_plaintext) {
  // S3: "STARTTLS\r\nNOOP\r\n" in one segment; after STARTTLS the NOOP must not run.
  reader r;
  r.feed("a1 STARTTLS\r\na2 LOGIN x y\r\n");
  ASSERT_EQ(r.next(), reader::kind::command);
  EXPECT_EQ(r.text(), "a1 STARTTLS");
  r.next_command();
  r.discard_input();
  EXPECT_EQ(r.next(), reader::kind::need_more);
  EXPECT_TRUE(r.idle());
}

}  // namespace
