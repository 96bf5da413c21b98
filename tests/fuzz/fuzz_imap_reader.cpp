// Fuzzes IMAP command framing (imap::proto::reader): lines, literal
// announcements {N} {N+} {N-} ~{N}, inline and streamed literals, and the
// line/command limits (RELIABILITY.md I1-I3). The driver decides each
// literal the way the session does (inline when it fits, refused when
// synchronising and too big, streamed otherwise) and checks that the events
// do not depend on how the bytes were split and that what the reader holds
// stays within its limits.

#include "fuzz_util.hpp"

#include "homthu/imap/proto/reader.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace {

using homthu::fuzz::check;
using homthu::imap::proto::reader;
using homthu::imap::proto::reader_limits;

struct ev {
  reader::kind k;
  std::string text;
  bool operator==(const ev&) const = default;
};

std::vector<ev> run(const std::vector<std::string_view>& pieces, reader_limits lim) {
  reader r(lim);
  std::vector<ev> out;
  const std::size_t bound = std::max(lim.max_line, lim.max_command) + 2;
  for (auto p : pieces) {
    r.feed(p);
    for (int guard = 0; guard < 100000; ++guard) {
      auto k = r.next();
      if (k == reader::kind::need_more) {
        break;
      }
      switch (k) {
        case reader::kind::command:
          check(r.text().size() <= bound, "command text over the limits");
          out.push_back({k, std::string(r.text())});
          r.next_command();
          break;
        case reader::kind::literal: {
          check(r.text().size() <= bound, "command text over the limits");
          const auto lit = r.literal();
          out.push_back({k, std::string(r.text()) + "|" + std::to_string(lit.size) + (lit.sync ? "s" : "n")});
          if (r.fits_inline() && lit.size % 3 != 0) {
            r.accept_literal();
          } else if (lit.sync && !r.fits_inline()) {
            r.refuse_literal();
          } else {
            r.stream_literal();
          }
          break;
        }
        case reader::kind::literal_data:
          // Chunking of streamed data follows the feed; merge it.
          if (!out.empty() && out.back().k == reader::kind::literal_data) {
            out.back().text.append(r.data());
          } else {
            out.push_back({k, std::string(r.data())});
          }
          break;
        default:
          out.push_back({k, {}});
          break;
      }
      if (guard == 99999) {
        homthu::fuzz::fail("reader made no progress");
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (reader_limits lim : {reader_limits{64, 256}, reader_limits{}}) {
    const auto whole = run({in}, lim);
    const auto pieces = run(homthu::fuzz::split(in), lim);
    check(whole == pieces, "events depend on how the input was split");
  }
  return 0;
}
