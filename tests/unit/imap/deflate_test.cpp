// COMPRESS=DEFLATE streams: what the server deflates a client can inflate,
// what a client deflates comes out whole in bounded pieces, and an inflate
// bomb or corrupt input is reported (RELIABILITY.md I7).
#include "../../../imap/src/server/deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace homthu::imap {
namespace {

// The client side: raw deflate with a sync flush, as RFC 4978 clients do.
std::string client_deflate(z_stream& zs, const std::string& text) {
  std::string out(text.size() + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - zs.avail_out);
  return out;
}

std::string client_inflate(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, -15), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR);
  out.resize(out.size() - zs.avail_out);
  inflateEnd(&zs);
  return out;
}

TEST(Deflate, ResponsesInflateOnTheClient) {
  deflate_stream d(1000);
  ASSERT_TRUE(d.ok());
  std::string wire;
  ASSERT_TRUE(d.compress("* OK first\r\n", wire));
  ASSERT_TRUE(d.compress("a1 OK second\r\n", wire));
  EXPECT_EQ(client_inflate(wire), "* OK first\r\na1 OK second\r\n");
}

TEST(Deflate, CommandsComeOutWholeInBoundedPieces) {
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "a" + std::to_string(i) + " NOOP\r\n";
  }
  deflate_stream d(1000);
  d.push(client_deflate(zs, text));
  std::string got;
  for (int guard = 0; guard < 10000 && d.pending(); ++guard) {
    std::string piece;
    ASSERT_EQ(d.inflate_some(piece, 1024), deflate_stream::status::ok);
    EXPECT_LE(piece.size(), 1024u);
    got += piece;
  }
  EXPECT_EQ(got, text);
  deflateEnd(&zs);
}

TEST(Deflate, BombIsReportedOnceTheRatioIsExceeded) {
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  deflate_stream d(100);
  std::string zeros(1 << 20, 'A');
  auto status = deflate_stream::status::ok;
  std::uint64_t inflated = 0;
  for (int round = 0; round < 64 && status == deflate_stream::status::ok; ++round) {
    d.push(client_deflate(zs, zeros));
    for (int guard = 0; guard < 100000 && d.pending() && status == deflate_stream::status::ok; ++guard) {
      std::string piece;
      status = d.inflate_some(piece, 16384);
      inflated += piece.size();
    }
  }
  EXPECT_EQ(status, deflate_stream::status::bomb);
  EXPECT_LT(inflated, 4u << 20);
  deflateEnd(&zs);
}

TEST(Deflate, CorruptInputIsAnError) {
  deflate_stream d(1000);
  d.push(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8));
  std::string piece;
  EXPECT_EQ(d.inflate_some(piece, 1024), deflate_stream::status::error);
}

}  // namespace
}  // namespace homthu::imap
