// sequence-set parsing and resolution (RFC 9051 §9, RFC 5182 "$").
#include "homthu/imap/proto/seqset.hpp"

#include "homthu/imap/proto/lexer.hpp"

#include <algorithm>

namespace homthu::imap::proto {

namespace {

std::optional<std::uint32_t> seq_number(lexer& lex) {
  if (lex.skip('*')) {
    return 0u;
  }
  return lex.nz_number();
}

}  // namespace

std::optional<seqset> parse_seqset(lexer& lex, bool allow_saved) {
  seqset set;
  if (lex.peek() == '$') {
    if (!allow_saved) {
      lex.fail("$ not allowed here");
      return std::nullopt;
    }
    lex.skip('$');
    set.saved = true;
    return set;
  }
  for (;;) {
    auto lo = seq_number(lex);
    if (!lo) {
      lex.fail("Invalid sequence set");
      return std::nullopt;
    }
    seq_range r{*lo, *lo};
    if (lex.skip(':')) {
      auto hi = seq_number(lex);
      if (!hi) {
        lex.fail("Invalid sequence set");
        return std::nullopt;
      }
      r.hi = *hi;
    }
    set.ranges.push_back(r);
    if (!lex.skip(',')) {
      break;
    }
  }
  return set;
}

std::vector<seq_range> seqset::normalized(std::uint32_t largest) const {
  std::vector<seq_range> out;
  out.reserve(ranges.size());
  for (auto r : ranges) {
    std::uint32_t a = r.lo == 0 ? largest : r.lo;
    std::uint32_t b = r.hi == 0 ? largest : r.hi;
    if (a > b) {
      std::swap(a, b);
    }
    if (b == 0) {
      continue;
    }
    if (a == 0) {
      a = 1;
    }
    out.push_back({a, b});
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.lo < y.lo; });
  std::vector<seq_range> merged;
  for (auto r : out) {
    if (!merged.empty() && static_cast<std::uint64_t>(merged.back().hi) + 1 >= r.lo) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

std::vector<std::uint32_t> seqset::sequence_numbers(std::uint32_t count) const {
  std::vector<std::uint32_t> out;
  for (auto r : normalized(count)) {
    if (r.lo > count) {
      break;
    }
    for (std::uint64_t n = r.lo; n <= std::min(r.hi, count); ++n) {
      out.push_back(static_cast<std::uint32_t>(n));
    }
  }
  return out;
}

std::vector<std::uint32_t> seqset::uid_indexes(std::span<const std::uint32_t> uids) const {
  std::vector<std::uint32_t> out;
  if (uids.empty()) {
    return out;
  }
  for (auto r : normalized(uids.back())) {
    auto it = std::lower_bound(uids.begin(), uids.end(), r.lo);
    for (; it != uids.end() && *it <= r.hi; ++it) {
      out.push_back(static_cast<std::uint32_t>(it - uids.begin()));
    }
  }
  return out;
}

bool seqset::contains(std::uint32_t n, std::uint32_t largest) const {
  for (auto r : ranges) {
    std::uint32_t a = r.lo == 0 ? largest : r.lo;
    std::uint32_t b = r.hi == 0 ? largest : r.hi;
    if (a > b) {
      std::swap(a, b);
    }
    if (n >= a && n <= b) {
      return true;
    }
  }
  return false;
}

std::string compress_numbers(std::span<const std::uint32_t> sorted) {
  std::string out;
  std::size_t i = 0;
  while (i < sorted.size()) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out.push_back(',');
    }
    out += std::to_string(sorted[i]);
    if (j > i) {
      out.push_back(':');
      out += std::to_string(sorted[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace homthu::imap::proto
