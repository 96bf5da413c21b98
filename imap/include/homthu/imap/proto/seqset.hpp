#pragma once
// sequence-set (RFC 9051 §9): "1,3:5,7:*", and "$" for the saved search
// result (RFC 5182). Sans I/O. Resolution against a mailbox is linear in the
// number of ranges plus the number of matches, never in the numeric span, so
// "1:4294967295" costs what the mailbox holds (I8).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace homthu::imap::proto {

class lexer;

struct seq_range {
  std::uint32_t lo = 0;  // 0 stands for "*"
  std::uint32_t hi = 0;
};

struct seqset {
  std::vector<seq_range> ranges;
  bool saved = false;    // "$"

  // Sorted, merged, with "*" replaced by `largest`; empty when largest is 0
  // and the set names only "*".
  std::vector<seq_range> normalized(std::uint32_t largest) const;
  // Sequence numbers (1..count) named by the set, ascending.
  std::vector<std::uint32_t> sequence_numbers(std::uint32_t count) const;
  // Indexes into `uids` (sorted ascending) whose uid the set names.
  std::vector<std::uint32_t> uid_indexes(std::span<const std::uint32_t> uids) const;
  bool contains(std::uint32_t n, std::uint32_t largest) const;
};

// Parses a sequence-set at the lexer's position.
std::optional<seqset> parse_seqset(lexer& lex, bool allow_saved = true);
// "1:3,5" form of a sorted list of numbers (COPYUID, ESEARCH ALL).
std::string compress_numbers(std::span<const std::uint32_t> sorted);

}  // namespace homthu::imap::proto
