// Fuzzes the DATA reader (RFC 5321 §4.1.1.4, §4.5.2), the parser that SMTP
// smuggling attacks (RELIABILITY.md S1). Checks, besides "no crash":
// - fed whole or in pieces it ends at the same byte with the same content
//   and the same verdict;
// - content it accepts holds only CRLF line ends and no NUL, so nothing it
//   passes on can end a message early at any host we relay to;
// - it ends only after "<CRLF>.<CRLF>" (the first CRLF may be the one that
//   ended the DATA command);
// - the size limit is enforced.

#include "fuzz_util.hpp"

#include "homthu/smtp/proto/reader.hpp"

#include <string>

namespace {

using homthu::fuzz::check;
using homthu::smtp::proto::data_reader;

struct outcome {
  std::size_t consumed = 0;
  bool done = false;
  std::string out;
  enum data_reader::problem problem = data_reader::problem::none;
  std::uint64_t size = 0;
};

template <class Pieces>
outcome run(const Pieces& pieces, std::uint64_t max) {
  data_reader r(max);
  outcome o;
  for (auto p : pieces) {
    auto pr = r.feed(p, o.out);
    check(pr.consumed <= p.size(), "consumed more than fed");
    o.consumed += pr.consumed;
    if (pr.done) {
      o.done = true;
      break;
    }
    check(pr.consumed == p.size(), "stopped early without end of data");
  }
  o.problem = r.problem();
  o.size = r.size();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t max = 1 + (size * 3) / 4;  // some inputs are over the limit

  const auto a = run(std::vector<std::string_view>{in}, max);
  const auto b = run(homthu::fuzz::split(in), max);
  check(a.consumed == b.consumed && a.done == b.done, "end of data depends on the split");
  check(a.problem == b.problem && a.size == b.size, "verdict depends on the split");
  // What is written out of a refused message is discarded; only accepted
  // content must not depend on the split.
  check(a.problem != data_reader::problem::none || a.out == b.out, "content depends on the split");

  if (a.done) {
    const std::string_view used = in.substr(0, a.consumed);
    check(used == ".\r\n" || (used.size() >= 5 && used.substr(used.size() - 5) == "\r\n.\r\n"),
          "ended without <CRLF>.<CRLF>");
  }
  if (a.problem == data_reader::problem::none) {
    check(a.size <= max, "over the size limit without too_big");
    check(a.out.size() == a.size, "size differs from the content");
    for (std::size_t i = 0; i < a.out.size(); ++i) {
      const char c = a.out[i];
      check(c != '\0', "NUL in accepted content");
      if (c == '\r') {
        check(i + 1 < a.out.size() && a.out[i + 1] == '\n', "bare CR in accepted content");
      }
      if (c == '\n') {
        check(i > 0 && a.out[i - 1] == '\r', "bare LF in accepted content");
      }
    }
    if (a.done) {
      check(a.out.empty() || a.out.substr(a.out.size() - 2) == "\r\n", "accepted content not ending in CRLF");
    }
  } else {
    check(a.out.size() <= max, "content written past the limit");
  }
  return 0;
}
