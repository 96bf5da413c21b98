#pragma once
// The one parse of a message, done at delivery: IMAP ENVELOPE, BODY and
// BODYSTRUCTURE strings, decoded header fields for SEARCH/SORT, and the text
// the full-text index holds. Reads the blob as a stream; never throws on
// malformed input; runs in time linear in the message size.

#include "homthu/storage/store.hpp"

#include <string>

namespace homthu::storage::mime {

// Caps on hostile structure (RELIABILITY.md S15/S16). Beyond them the
// message is still stored whole; the description covers what came before.
inline constexpr unsigned max_depth = 100;
inline constexpr unsigned max_parts = 10000;
inline constexpr std::size_t max_header_block = 1 << 20;   // per header block kept for decoding
inline constexpr std::size_t max_index_text = 1 << 20;     // decoded body text indexed

struct parsed {
  message_meta meta;      // entry and blob left empty
  std::string body_text;  // decoded text parts, html stripped, for FTS
};

parsed parse(blob_reader& in);

}  // namespace homthu::storage::mime

namespace homthu::storage {

// What parse_ahead() gives (store.hpp).
class parsed_message {
 public:
  mime::parsed value;
  std::uint64_t size = 0;  // octets of the content parsed
};

}  // namespace homthu::storage
