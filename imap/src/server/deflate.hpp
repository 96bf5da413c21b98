#pragma once
// COMPRESS=DEFLATE (RFC 4978): raw deflate (RFC 1951, no zlib header) in
// both directions, layered between the IMAP session and the (TLS) stream.
//
// Trusts nothing it inflates. Input is inflated on demand in bounded pieces,
// so the framing reader's line limit applies to the decompressed bytes
// (RELIABILITY.md I7), and the running ratio of inflated to received bytes
// is bounded by [imap] max_inflate_ratio: a 1 MB bomb that would become a
// 1 GB line ends the connection instead of burning CPU on it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace homthu::imap {

class deflate_stream {
 public:
  explicit deflate_stream(std::uint64_t max_ratio);
  ~deflate_stream();
  deflate_stream(const deflate_stream&) = delete;
  deflate_stream& operator=(const deflate_stream&) = delete;

  // False when zlib could not set up its state (out of memory).
  bool ok() const { return ok_; }

  enum class status { ok, error, bomb };

  // Compressed bytes from the client.
  void push(std::string_view compressed);
  // True while inflate may still produce output without new input.
  bool pending() const;
  // Appends up to max inflated bytes to out.
  status inflate_some(std::string& out, std::size_t max);

  // Compresses text and ends with a sync flush (RFC 4978 §4: every
  // response the client waits for must reach it whole).
  bool compress(std::string_view text, std::string& out);

  // Frees input buffers between commands.
  void shrink();

 private:
  struct state;
  std::unique_ptr<state> z_;
  std::string in_;
  std::size_t in_pos_ = 0;
  bool out_full_ = false;     // the last inflate stopped because `max` was reached
  bool ok_ = false;
  std::uint64_t max_ratio_;
  std::uint64_t total_in_ = 0;
  std::uint64_t total_out_ = 0;
};

}  // namespace homthu::imap
