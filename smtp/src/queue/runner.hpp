#pragma once
// The outbound queue's workers: wake on new mail or a timer, take due
// messages, deliver them (MX or relayhost) with bounded concurrency per
// destination, record each recipient's outcome, back off on 4xx, and send
// DSNs for failures and for giving up (RFC 3464).

#include "../server/state.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace homthu::smtp::detail {

class queue_runner {
 public:
  queue_runner(server_state& st, boost::asio::any_io_executor ex);
  ~queue_runner();
  void start();
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace homthu::smtp::detail
