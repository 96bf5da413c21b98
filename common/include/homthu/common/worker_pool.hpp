#pragma once
// The bounded pool on which blocking work runs: LDAP calls, SQLite commits,
// fsync, Argon2id. I/O threads never block; they co_await run() and resume on
// their own executor when the work is done. Exceptions thrown by the work are
// rethrown in the awaiting coroutine.
//
// run() is written with async_initiate rather than as a coroutine lambda,
// and passes the work by pointer: GCC 12 corrupts class-type values (a
// lambda capturing a std::string) handed through coroutine parameters.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace homthu::common {

// Join (or destroy) the pool before the io_contexts whose coroutines await
// it: a job that has posted its completion still holds a copy of the
// caller's executor until its frame unwinds, and destroying the last copy of
// a strand executor touches its io_context.
class worker_pool {
 public:
  explicit worker_pool(std::size_t threads) : pool_(threads) {}
  ~worker_pool() { pool_.join(); }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // GCC 12 miscompiles a temporary lambda with class-type captures inside a
  // co_await expression (`co_await run([s = str] {...})` reads a corrupt
  // string). Such a lambda must be named first and passed as an lvalue (it
  // is copied); lambdas capturing only references and scalars may be passed
  // as temporaries.
  template <class F>
  auto run(F&& f) -> boost::asio::awaitable<std::invoke_result_t<std::decay_t<F>&>> {
    using W = std::decay_t<F>;
    static_assert(std::is_lvalue_reference_v<F> || std::is_trivially_destructible_v<W>,
                  "name a work function with class-type captures before co_await (GCC 12)");
    using R = std::invoke_result_t<W&>;
    if constexpr (std::is_void_v<R>) {
      return initiate<void(std::exception_ptr)>(W(std::forward<F>(f)));
    } else {
      return unwrap<R>(initiate<void(std::exception_ptr, std::optional<R>)>(W(std::forward<F>(f))));
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

  // The work travels to the initiation as a raw pointer (owned from there
  // on by a unique_ptr): only trivially copyable values cross asio's
  // use_awaitable initiation coroutine, whose class-type parameters GCC 12
  // mishandles.
  template <class Signature, class F>
  auto initiate(F f) {
    auto* work = new F(std::move(f));
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, Signature>(
        [this](auto handler, F* raw) {
          std::unique_ptr<F> owned(raw);
          boost::asio::post(pool_, [handler = std::move(handler), work = std::move(owned)]() mutable {
            using R = std::invoke_result_t<F&>;
            std::exception_ptr ep;
            auto ex = boost::asio::get_associated_executor(handler);
            if constexpr (std::is_void_v<R>) {
              try {
                (*work)();
              } catch (...) {
                ep = std::current_exception();
              }
              work.reset();
              boost::asio::post(ex, [handler = std::move(handler), ep]() mutable { std::move(handler)(ep); });
            } else {
              std::optional<R> r;
              try {
                r.emplace((*work)());
              } catch (...) {
                ep = std::current_exception();
              }
              work.reset();
              boost::asio::post(ex, [handler = std::move(handler), ep, r = std::move(r)]() mutable {
                std::move(handler)(ep, std::move(r));
              });
            }
          });
        },
        boost::asio::use_awaitable, work);
  }

  boost::asio::thread_pool pool_;
};

}  // namespace homthu::common
