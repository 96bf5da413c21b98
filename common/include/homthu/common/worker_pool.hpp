#pragma once
// The bounded pool on which blocking work runs: LDAP calls, SQLite commits,
// fsync, Argon2id. I/O threads never block; they co_await run() and resume on
// their own executor when the work is done. Exceptions thrown by the work are
// rethrown in the awaiting coroutine.
//
// run() is written with async_initiate rather than as a coroutine lambda:
// GCC 12 destroys by-value captures of a coroutine lambda twice, and the
// work function usually captures strings.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace homthu::common {

class worker_pool {
 public:
  explicit worker_pool(std::size_t threads) : pool_(threads) {}
  ~worker_pool() { pool_.join(); }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_void_v<R>) {
      return initiate<void(std::exception_ptr)>(std::move(f));
    } else {
      return unwrap<R>(initiate<void(std::exception_ptr, std::optional<R>)>(std::move(f)));
    }
  }

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  void stop() { pool_.stop(); }
  void join() { pool_.join(); }

 private:
  template <class R>
  static boost::asio::awaitable<R> unwrap(boost::asio::awaitable<std::optional<R>> a) {
    co_return std::move(*(co_await std::move(a)));
  }

  template <class Signature, class F>
  auto initiate(F f) {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, Signature>(
        [this](auto handler, F work) {
          boost::asio::post(pool_, [handler = std::move(handler), work = std::move(work)]() mutable {
            using R = std::invoke_result_t<F&>;
            std::exception_ptr ep;
            auto ex = boost::asio::get_associated_executor(handler);
            if constexpr (std::is_void_v<R>) {
              try {
                work();
              } catch (...) {
                ep = std::current_exception();
              }
              boost::asio::post(ex, [handler = std::move(handler), ep]() mutable { std::move(handler)(ep); });
            } else {
              std::optional<R> r;
              try {
                r.emplace(work());
              } catch (...) {
                ep = std::current_exception();
              }
              boost::asio::post(ex, [handler = std::move(handler), ep, r = std::move(r)]() mutable {
                std::move(handler)(ep, std::move(r));
              });
            }
          });
        },
        boost::asio::use_awaitable, std::move(f));
  }

  boost::asio::thread_pool pool_;
};

}  // namespace homthu::common
