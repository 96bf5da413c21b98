// Connection rate per IP (A1) over real loopback sessions, and the sliding
// window of rate_limiter.
#include "../../../smtp/src/server/state.hpp"
#include "harness.hpp"

#include <gtest/gtest.h>

namespace homthu::smtp::test {
namespace {

TEST(limits, connection_rate_per_ip_gets_421) {
  harness h;
  h.opts.connections_per_ip_per_minute = 2;
  h.start(listener_kind::mx, 3);
  client a(h.port());
  EXPECT_EQ(a.read_line().value_or("").substr(0, 4), "220 ");
  client b(h.port());
  EXPECT_EQ(b.read_line().value_or("").substr(0, 4), "220 ");
  client c(h.port());
  EXPECT_EQ(c.read_line().value_or("").substr(0, 10), "421 4.7.0 ");
  EXPECT_FALSE(c.read_line().has_value());
}

TEST(limits, rate_limiter_counts_per_key_and_zero_is_unlimited) {
  detail::rate_limiter r(std::chrono::seconds(60));
  EXPECT_TRUE(r.hit("a", 3));
  EXPECT_TRUE(r.hit("a", 3));
  EXPECT_TRUE(r.hit("a", 3));
  EXPECT_FALSE(r.hit("a", 3));
  EXPECT_TRUE(r.hit("b", 3));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(r.hit("c", 0));
  }
}

TEST(limits, rate_limiter_window_slides) {
  detail::rate_limiter r(std::chrono::milliseconds(200));
  EXPECT_TRUE(r.hit("a", 1));
  EXPECT_FALSE(r.hit("a", 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // two windows later: forgotten
  EXPECT_TRUE(r.hit("a", 1));
}

}  // namespace
}  // namespace homthu::smtp::test
