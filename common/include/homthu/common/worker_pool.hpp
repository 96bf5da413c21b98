#pragma once
// The bounded pool on which blocking work runs: LDAP calls, SQLite commits,
// fsync, Argon2id. I/O threads never block; they co_await run() and resume on
// their own executor when the work is done. Exceptions thrown by the work are
// rethrown in the awaiting coroutine.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace homthu::common {

class worker_pool {
 public:
  explicit worker_pool(std::size_t threads) : pool_(threads) {}
  ~worker_pool() { pool_.join(); }

  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    co_return co_await boost::asio::co_spawn(
        pool_.get_executor(),
        [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); },
        boost::asio::use_awaitable);
  }

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  void stop() { pool_.stop(); }
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace homthu::common
