#include "homthu/common/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

using homthu::common::metrics;

TEST(metrics, counters_are_exact_under_concurrency) {
  metrics m;
  auto& c = m.get_counter("homthu_test_total", "Test counter");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
      }
    });
  }
  for (auto& t : ts) {
    t.join();
  }
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(&m.get_counter("homthu_test_total", "again"), &c);
}

TEST(metrics, prometheus_text_groups_families_and_labels) {
  metrics m;
  m.get_counter("homthu_connections_total{listener=\"smtp\"}", "Connections accepted").inc(3);
  m.get_counter("homthu_connections_total{listener=\"imap\"}", "Connections accepted").inc(5);
  m.get_gauge("homthu_queue_size", "Messages in the outbound queue").set(7);
  auto& h = m.get_histogram("homthu_delivery_seconds", "Delivery latency", {0.01, 0.1});
  h.observe(0.005);
  h.observe(0.05);
  h.observe(3);
  auto text = m.prometheus_text();
  EXPECT_NE(text.find("# TYPE homthu_connections_total counter\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("# TYPE homthu_connections_total counter"), text.rfind("# TYPE homthu_connections_total counter"));
  EXPECT_NE(text.find("homthu_connections_total{listener=\"imap\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("homthu_queue_size 7\n"), std::string::npos);
  EXPECT_NE(text.find("homthu_delivery_seconds_bucket{le=\"0.01\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("homthu_delivery_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("homthu_delivery_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("homthu_delivery_seconds_count 3\n"), std::string::npos);
}
