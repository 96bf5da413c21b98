// homthuctl queue list|show|retry|delete: the outbound queue, through
// storage/'s queue interface only (DESIGN.md: the spool is storage). Trusts
// the configuration file and the operator's arguments. Safe beside a live
// homthud: the queue is SQLite in WAL mode and homthud's runner picks up a
// retried message at its next pass.

#include "ctl/command.hpp"

#include "homthu/common/config.hpp"
#include "homthu/storage/queue.hpp"
#include "homthu/storage/store.hpp"

#include <ctime>
#include <iostream>
#include <string>

namespace homthu::ctl {
namespace {

namespace st = homthu::storage;

std::unique_ptr<st::outbound_queue> open_from_config(const context& ctx) {
  auto cfg = common::load_config(ctx.config_path);
  st::queue_options o;
  o.path = st::default_queue_path(cfg.storage.path, cfg.server.data_dir);
  o.fsync = cfg.storage.fsync;
  return st::open_queue(o);
}

std::string when(std::int64_t t) {
  if (t == 0) {
    return "-";
  }
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* state_name(st::recipient_state s) {
  switch (s) {
    case st::recipient_state::pending: return "pending";
    case st::recipient_state::delivered: return "delivered";
    case st::recipient_state::failed: return "failed";
  }
  return "?";
}

int fail(const std::string& what, const boost::system::error_code& ec) {
  std::cerr << what << ": " << ec.message() << "\n";
  return st::is_temporary(ec) ? 3 : 1;
}

bool parse_id(const std::string& s, std::int64_t& id) {
  try {
    std::size_t used = 0;
    id = std::stoll(s, &used);
    return used == s.size() && id > 0;
  } catch (const std::exception&) {
    return false;
  }
}

int usage() {
  std::cerr << "usage: homthuctl queue list\n"
               "       homthuctl queue show ID\n"
               "       homthuctl queue retry ID|all\n"
               "       homthuctl queue delete ID\n";
  return 2;
}

int run_queue(const context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    return usage();
  }
  const auto& verb = args[0];
  auto q = open_from_config(ctx);
  if (verb == "list" && args.size() == 1) {
    auto all = q->list();
    if (!all) {
      return fail("queue list", all.error());
    }
    // One line per message: id, age, size, sender, pending/total recipients.
    for (const auto& m : *all) {
      std::size_t pending = 0;
      for (const auto& r : m.recipients) {
        pending += r.state == st::recipient_state::pending ? 1 : 0;
      }
      std::cout << m.id << "\t" << when(m.created) << "\t" << m.size << "\t<" << m.sender << ">\t" << pending
                << "/" << m.recipients.size() << " pending\n";
    }
    std::cout << all->size() << " message(s) in queue\n";
    return 0;
  }
  std::int64_t id = 0;
  if (verb == "retry" && args.size() == 2 && args[1] == "all") {
    auto r = q->retry_all();
    return r ? 0 : fail("queue retry", r.error());
  }
  if (args.size() != 2 || !parse_id(args[1], id)) {
    return usage();
  }
  if (verb == "show") {
    auto m = q->get(id);
    if (!m) {
      return fail("queue show " + args[1], m.error());
    }
    std::cout << "id: " << m->id << "\nsender: <" << m->sender << ">\ncreated: " << when(m->created)
              << "\nsize: " << m->size << "\nsubmitter: " << m->submitter << "\nreceived_from: " << m->received_from
              << "\nenvid: " << m->envid << "\n";
    for (const auto& r : m->recipients) {
      std::cout << "recipient: <" << r.address << "> " << state_name(r.state) << " attempts=" << r.attempts
                << " last=" << when(r.last_attempt) << " next=" << when(r.next_attempt);
      if (!r.remote_mta.empty()) {
        std::cout << " mta=\"" << r.remote_mta << "\"";
      }
      if (!r.last_reply.empty()) {
        std::cout << " reply=\"" << r.last_reply << "\"";
      }
      std::cout << "\n";
    }
    return 0;
  }
  if (verb == "retry") {
    auto r = q->retry(id);
    return r ? 0 : fail("queue retry " + args[1], r.error());
  }
  if (verb == "delete") {
    auto r = q->remove(id);
    if (!r) {
      return fail("queue delete " + args[1], r.error());
    }
    std::cout << "deleted " << id << "\n";
    return 0;
  }
  return usage();
}

}  // namespace

std::vector<command> queue_commands() {
  return {{"queue", "outbound queue: list | show ID | retry ID|all | delete ID", run_queue}};
}

}  // namespace homthu::ctl
