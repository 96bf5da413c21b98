#include "homthu/common/worker_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <thread>

namespace asio = boost::asio;
using homthu::common::worker_pool;

TEST(worker_pool, runs_off_the_io_thread_and_resumes_on_it) {
  asio::io_context io;
  worker_pool pool(2);
  std::thread::id io_thread, work_thread, resumed_thread;
  std::string result;
  std::string captured = std::string(100, 'x');  // heap-allocated: a double free would show
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        io_thread = std::this_thread::get_id();
        auto work = [captured, &work_thread] {
          work_thread = std::this_thread::get_id();
          return captured + "!";
        };
        result = co_await pool.run(work);
        resumed_thread = std::this_thread::get_id();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(result, std::string(100, 'x') + "!");
  EXPECT_NE(work_thread, io_thread);
  EXPECT_EQ(resumed_thread, io_thread);
}

TEST(worker_pool, exceptions_reach_the_awaiting_coroutine) {
  asio::io_context io;
  worker_pool pool(1);
  std::string caught;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await pool.run([]() -> int { throw std::runtime_error("ldap down"); });
        } catch (const std::runtime_error& e) {
          caught = e.what();
        }
        // void work, move-only results
        co_await pool.run([] {});
        auto p = co_await pool.run([] { return std::make_unique<int>(7); });
        EXPECT_EQ(*p, 7);
      },
      asio::detached);
  io.run();
  EXPECT_EQ(caught, "ldap down");
}

TEST(worker_pool, many_concurrent_calls_complete) {
  asio::io_context io;
  worker_pool pool(4);
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) {
    asio::co_spawn(
        asio::make_strand(io),
        [&, i]() -> asio::awaitable<void> {
          auto work = [s = std::to_string(i)] { return s; };
          auto v = co_await pool.run(work);
          if (v == std::to_string(i)) {
            ++done;
          }
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(done.load(), 1000);
}
