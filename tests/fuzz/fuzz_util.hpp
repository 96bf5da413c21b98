#pragma once
// Shared by the fuzz targets: deterministic chunking of one input, so that
// each sans-I/O reader is fed the same bytes whole and in pieces and the two
// results can be compared. The input itself stays the protocol bytes, which
// keeps the seed corpora readable.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace homthu::fuzz {

// Chunk boundaries derived from the input (FNV-1a seeds an xorshift), sizes
// 1..max_chunk: small pieces exercise every state boundary of a reader.
inline std::vector<std::string_view> split(std::string_view in, std::size_t max_chunk = 7) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : in) {
    h = (h ^ c) * 1099511628211ull;
  }
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < in.size()) {
    h ^= h << 13;
    h ^= h >> 7;
    h ^= h << 17;
    std::size_t n = 1 + h % max_chunk;
    out.push_back(in.substr(i, n));
    i += n;
  }
  return out;
}

// A violated invariant is reported like a crash, with the reason.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok) {
    fail(what);
  }
}

inline bool has_ctl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

}  // namespace homthu::fuzz
