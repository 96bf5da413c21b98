// Fuzzes the IMAP server's view of a stored message: the MIME structure
// used for BODY[section] (parse_mime, find_part), transfer decoding for
// BINARY[] (RFC 3516) and header filtering for HEADER.FIELDS. Checks that
// every offset it returns lies inside the message.

#include "fuzz_util.hpp"

#include "homthu/imap/proto/mime.hpp"

#include <string>
#include <vector>

namespace {

namespace proto = homthu::imap::proto;
using homthu::fuzz::check;

void walk(const proto::mime_entity& e, std::string_view msg, unsigned depth, unsigned& count) {
  check(e.header_begin <= e.body_begin && e.body_begin <= e.body_end && e.body_end <= msg.size(),
        "part offsets outside the message");
  check(depth < 100000, "nesting unbounded");
  if (++count > 200000) {
    return;
  }
  auto body = msg.substr(e.body_begin, e.body_end - e.body_begin);
  if (count < 50) {
    (void)proto::decode_transfer_encoding(body, e.cte);
    auto header = msg.substr(e.header_begin, e.body_begin - e.header_begin);
    (void)proto::filter_header(header, {"SUBJECT", "FROM", "CONTENT-TYPE"}, false);
    (void)proto::filter_header(header, {"SUBJECT"}, true);
  }
  for (const auto& c : e.children) {
    walk(c, msg, depth + 1, count);
  }
  if (e.message) {
    walk(*e.message, msg, depth + 1, count);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view msg(reinterpret_cast<const char*>(data), size);
  auto root = proto::parse_mime(msg);
  unsigned count = 0;
  walk(root, msg, 0, count);
  check(proto::header_end(msg) <= msg.size(), "header_end past the end");
  const std::vector<std::vector<std::uint32_t>> paths = {{1}, {2}, {1, 1}, {1, 2, 1}, {3, 1}, {0}};
  for (const auto& p : paths) {
    if (const auto* part = proto::find_part(root, p)) {
      check(part->body_end <= msg.size(), "found part outside the message");
    }
  }
  return 0;
}
