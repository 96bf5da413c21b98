// Durability and encryption at rest: a process killed at random moments
// during concurrent deliveries loses nothing it acknowledged and leaves a
// store fsck calls clean; encrypted blobs hide their content yet keep the
// plaintext's content address.

#include "test_util.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

namespace homthu::storage::testing {
namespace {

using namespace std::chrono_literals;

// Child process: deliver from several threads, write "id\n" to fd after each
// acknowledged delivery, until killed.
[[noreturn]] void crash_child(const std::string& root, int fd, int round, std::size_t inline_max) {
  store_options o;
  o.path = root;
  o.inline_max = inline_max;
  auto s = open_store(o);
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 100000; ++i) {
        std::string id = "crash-" + std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(i);
        std::string msg = "From: a@x.vn\r\nSubject: " + id + "\r\nMessage-ID: <" + id + ">\r\n\r\nbody " + id + "\r\n";
        auto sp = s->begin_spool();
        if (!sp || !(*sp)->write(msg)) {
          continue;
        }
        auto blob = (*sp)->finish();
        if (!blob) {
          continue;
        }
        std::vector<delivery_target> targets(2);
        targets[0].account = "crash-a";
        targets[1].account = "crash-b";
        targets[1].mailbox = t % 2 ? "INBOX" : "Lists/" + std::to_string(t);
        auto out = s->deliver(*blob, targets, 0);
        if (!out[0].ec && !out[1].ec) {
          std::string line = id + "\n";
          if (::write(fd, line.data(), line.size()) < 0) {
            _exit(3);
          }
        }
      }
    });
  }
  for (auto& t : ts) {
    t.join();
  }
  _exit(0);
}

std::map<std::string, int> message_ids(store& s, const std::string& account) {
  std::map<std::string, int> seen;
  auto boxes = s.list_mailboxes(account);
  EXPECT_TRUE(boxes);
  for (const auto& b : *boxes) {
    auto msgs = s.messages(account, b.id);
    EXPECT_TRUE(msgs);
    std::vector<std::uint32_t> uids;
    for (const auto& m : *msgs) {
      uids.push_back(m.uid);
    }
    auto meta = s.fetch_meta(account, b.id, uids);
    EXPECT_TRUE(meta);
    EXPECT_EQ(meta->size(), uids.size());
    for (const auto& m : *meta) {
      seen[m.message_id]++;
      // The body is readable and complete.
      EXPECT_NE(read_blob(s, m.blob).find("body "), std::string::npos);
    }
  }
  return seen;
}

class crash_test : public store_test {
 protected:
  void kill_rounds(std::size_t inline_max);
};

void crash_test::kill_rounds(std::size_t inline_max) {
  std::set<std::string> acked;
  std::mt19937 rng(12345);
  constexpr int rounds = 6;
  for (int round = 0; round < rounds; ++round) {
    s_.reset();
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      crash_child(root_, fds[1], round, inline_max);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string data;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) {
      data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    std::size_t start = 0;
    while (true) {
      std::size_t nl = data.find('\n', start);
      if (nl == std::string::npos) {
        break;
      }
      acked.insert(data.substr(start, nl - start));
      start = nl + 1;
    }
    open();
    auto fsck = s_->fsck(false, std::chrono::seconds(0));
    ASSERT_TRUE(fsck);
    EXPECT_TRUE(fsck->clean()) << "round " << round << ": " << fsck->problems.at(0);
    for (const char* account : {"crash-a", "crash-b"}) {
      auto seen = message_ids(*s_, account);
      for (const auto& id : acked) {
        auto it = seen.find("<" + id + ">");
        ASSERT_TRUE(it != seen.end()) << "round " << round << ": acknowledged " << id << " missing in " << account;
        EXPECT_EQ(it->second, 1) << id << " duplicated in " << account;
      }
      for (const auto& [id, count] : seen) {
        EXPECT_EQ(count, 1) << id;
      }
      // Every stored message is found by a body search (the index is
      // written after the commit; what a crash left unindexed is indexed
      // again), and only once.
      auto boxes = s_->list_mailboxes(account);
      ASSERT_TRUE(boxes);
      for (const auto& b : *boxes) {
        auto found = s_->search_text(account, b.id, text_field::body, "body");
        ASSERT_TRUE(found);
        EXPECT_EQ(found->size(), b.messages) << "round " << round << ": " << account << " " << b.name;
      }
    }
    // Garbage from the crash (temporary files, unreferenced blobs) goes,
    // and the store is still clean afterwards.
    ASSERT_TRUE(s_->collect_garbage(std::chrono::seconds(-1)));
    fsck = s_->fsck(false, std::chrono::seconds(0));
    ASSERT_TRUE(fsck);
    EXPECT_TRUE(fsck->clean());
    EXPECT_TRUE(fsck->garbage.empty()) << fsck->garbage.at(0);
  }
  EXPECT_GT(acked.size(), 10u) << "the child acknowledged almost nothing; the test proved little";
  RecordProperty("acknowledged", static_cast<int>(acked.size()));
}

TEST_F(crash_test, killed_during_concurrent_deliveries_loses_nothing_acknowledged) { kill_rounds(0); }

// The same with every message small enough to live inside the database.
TEST_F(crash_test, killed_during_concurrent_inline_deliveries_loses_nothing_acknowledged) { kill_rounds(64 * 1024); }

TEST_F(store_test, encrypted_blobs_hide_content_and_keep_plaintext_address) {
  std::string plain_id = spool_text(*s_, simple_message("secret", "mật khẩu ở đây\r\n"));
  std::string key_file = root_ + "/key";
  {
    std::ofstream k(key_file);
    k << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
  }
  std::string root2 = make_temp_dir("enc");
  std::string saved = root_;
  root_ = root2;
  open(key_file);
  std::string msg = simple_message("secret", "mật khẩu ở đây\r\n" + std::string(200000, 'z') + "\r\nEND\r\n");
  auto out = deliver_to("an", msg);
  ASSERT_FALSE(out.ec);
  auto meta = s_->fetch_meta("an", out.mailbox_id, std::vector<std::uint32_t>{1});
  ASSERT_TRUE(meta);
  std::string id = (*meta)[0].blob;
  std::string path = root2 + "/blobs/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id + ".e";
  ASSERT_TRUE(std::filesystem::exists(path));
  std::string raw = read_file(path);
  EXPECT_EQ(raw.find("mật khẩu"), std::string::npos);
  EXPECT_EQ(raw.find("secret"), std::string::npos);
  EXPECT_EQ(read_blob(*s_, id), msg);
  EXPECT_EQ((*meta)[0].subject, "secret");  // parsed through the decrypting reader
  // Same plaintext, same address as an unencrypted store gives it.
  EXPECT_EQ(spool_text(*s_, simple_message("secret", "mật khẩu ở đây\r\n")), plain_id);
  // Seeking backwards restarts the stream.
  auto r = s_->open_blob(id);
  ASSERT_TRUE(r);
  ASSERT_TRUE((*r)->seek(msg.size() - 5));
  char buf[8];
  auto n = (*r)->read(std::span<char>(buf, 5));
  EXPECT_EQ(std::string(buf, *n), "END\r\n");
  ASSERT_TRUE((*r)->seek(0));
  n = (*r)->read(std::span<char>(buf, 5));
  EXPECT_EQ(std::string(buf, *n), "From:");
  // Tampering is detected.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(raw.size() / 2));
    f.put(static_cast<char>(raw[raw.size() / 2] ^ 1));
  }
  auto t = s_->open_blob(id);
  ASSERT_TRUE(t);
  std::string all;
  boost::system::error_code ec;
  char big[4096];
  for (int i = 0; i < 1000; ++i) {
    auto k = (*t)->read(std::span<char>(big, sizeof(big)));
    if (!k) {
      ec = k.error();
      break;
    }
    if (*k == 0) {
      break;
    }
  }
  EXPECT_EQ(ec, make_error_code(error::corrupt));
  s_.reset();
  std::filesystem::remove_all(root2);
  root_ = saved;
  open();
}

}  // namespace
}  // namespace homthu::storage::testing
