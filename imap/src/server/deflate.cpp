// COMPRESS=DEFLATE streams (see deflate.hpp).
#include "deflate.hpp"

#include <zlib.h>

#include <algorithm>

namespace homthu::imap {

namespace {

// Allowed before the ratio applies, so the first small commands of a
// session (highly compressible, tiny input) are never refused.
constexpr std::uint64_t ratio_slack = 1u << 20;

// Our deflate window and memory level: 4 KiB window and ~48 KiB of state
// instead of zlib's 256 KiB default; responses compress nearly as well and
// a compressed connection stays cheap. Inflate must accept the client's
// 32 KiB window (RFC 4978 §4 allows any).
constexpr int deflate_window_bits = 12;
constexpr int deflate_mem_level = 6;

}  // namespace

struct deflate_stream::state {
  z_stream in{};
  z_stream out{};
  bool in_init = false;
  bool out_init = false;
  ~state() {
    if (in_init) {
      inflateEnd(&in);
    }
    if (out_init) {
      deflateEnd(&out);
    }
  }
};

deflate_stream::deflate_stream(std::uint64_t max_ratio)
    : z_(std::make_unique<state>()), max_ratio_(max_ratio) {
  // Negative window bits: raw deflate, as RFC 4978 §4 requires.
  z_->in_init = inflateInit2(&z_->in, -15) == Z_OK;
  z_->out_init = deflateInit2(&z_->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -deflate_window_bits,
                              deflate_mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
  ok_ = z_->in_init && z_->out_init;
}

deflate_stream::~deflate_stream() = default;

void deflate_stream::push(std::string_view compressed) {
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  in_.append(compressed);
  total_in_ += compressed.size();
}

bool deflate_stream::pending() const { return in_pos_ < in_.size() || out_full_; }

deflate_stream::status deflate_stream::inflate_some(std::string& out, std::size_t max) {
  auto& zs = z_->in;
  std::size_t old = out.size();
  out.resize(old + max);
  zs.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
  zs.avail_in = static_cast<uInt>(in_.size() - in_pos_);
  zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
  zs.avail_out = static_cast<uInt>(max);
  int rc = inflate(&zs, Z_SYNC_FLUSH);
  std::size_t produced = max - zs.avail_out;
  in_pos_ = in_.size() - zs.avail_in;
  out.resize(old + produced);
  out_full_ = zs.avail_out == 0;
  total_out_ += produced;
  if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
    return status::error;
  }
  if (rc == Z_STREAM_END) {
    // The client ended its deflate stream; nothing may follow (RFC 4978 §4).
    return in_pos_ < in_.size() ? status::error : status::ok;
  }
  if (total_out_ > ratio_slack && total_out_ / std::max<std::uint64_t>(total_in_, 1) > max_ratio_) {
    return status::bomb;
  }
  return status::ok;
}

bool deflate_stream::compress(std::string_view text, std::string& out) {
  auto& zs = z_->out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  for (int guard = 0; guard < 1'000'000; ++guard) {
    std::size_t old = out.size();
    std::size_t room = std::max<std::size_t>(4096, deflateBound(&zs, zs.avail_in));
    out.resize(old + room);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(room);
    int rc = deflate(&zs, Z_SYNC_FLUSH);
    out.resize(old + room - zs.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return false;
    }
    // Done when all input is taken and the flush fitted with room to spare.
    if (zs.avail_in == 0 && zs.avail_out != 0) {
      return true;
    }
  }
  return false;
}

void deflate_stream::shrink() {
  if (in_pos_ == in_.size()) {
    std::string().swap(in_);
    in_pos_ = 0;
  }
}

}  // namespace homthu::imap
