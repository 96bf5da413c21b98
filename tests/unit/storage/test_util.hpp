#pragma once
// Shared fixtures for the storage tests: a fresh store root per test, and
// helpers to spool and deliver literal messages.

#include "homthu/storage/store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace homthu::storage::testing {

inline std::string make_temp_dir(const std::string& tag) {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() /
           ("homthu-sto-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p.string();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A finished spool and its blob id. Deliver while the spool lives: a blob
// small enough to be kept inline exists only in the spool until then.
struct spooled {
  std::unique_ptr<spool> sp;
  std::string id;
};

inline spooled spool_kept(store& s, std::string_view text, std::size_t chunk = 7) {
  auto sp = s.begin_spool();
  EXPECT_TRUE(sp.has_value());
  if (!sp) {
    return {};
  }
  for (std::size_t i = 0; i < text.size(); i += chunk) {
    EXPECT_TRUE((*sp)->write(text.substr(i, chunk)).has_value());
  }
  auto id = (*sp)->finish();
  EXPECT_TRUE(id.has_value());
  return {std::move(*sp), id ? *id : std::string()};
}

// The blob id of a spool dropped at once (a file blob stays on disk).
inline std::string spool_text(store& s, std::string_view text, std::size_t chunk = 7) {
  return spool_kept(s, text, chunk).id;
}

inline std::string read_blob(store& s, const std::string& id) {
  auto r = s.open_blob(id);
  if (!r) {
    return "<error " + r.error().message() + ">";
  }
  std::string out;
  char buf[1000];
  while (true) {
    auto n = (*r)->read(std::span<char>(buf, sizeof(buf)));
    if (!n || *n == 0) {
      break;
    }
    out.append(buf, *n);
  }
  return out;
}

inline std::string simple_message(const std::string& subject, const std::string& body = "Hello.\r\n") {
  return "From: An <an@thainguyen.gov.vn>\r\nTo: Binh <binh@thainguyen.gov.vn>\r\nSubject: " + subject +
         "\r\nDate: Mon, 02 Jun 2025 08:30:00 +0700\r\nMessage-ID: <" + std::to_string(std::hash<std::string>{}(subject + body)) +
         "@thainguyen.gov.vn>\r\n\r\n" + body;
}

class store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir("unit");
    open();
  }
  void TearDown() override {
    s_.reset();
    std::filesystem::remove_all(root_);
  }
  void open(const std::string& key_file = {}) {
    store_options o;
    o.encryption_key_file = key_file;
    open_with(o);
  }
  // Reopens the store in root_ with these options (path and fsync are set here).
  void open_with(store_options o) {
    s_.reset();
    o.path = root_;
    o.fsync = true;
    s_ = open_store(o);
  }
  // Delivers one message to account's INBOX and returns the outcome.
  delivery_outcome deliver_to(const std::string& account, const std::string& text, const std::string& mailbox = "INBOX",
                              std::uint64_t qb = 0, std::uint64_t qm = 0) {
    auto [sp, id] = spool_kept(*s_, text);
    delivery_target t;
    t.account = account;
    t.mailbox = mailbox;
    t.quota_bytes = qb;
    t.quota_messages = qm;
    auto out = s_->deliver(id, std::span<const delivery_target>(&t, 1), 1750000000);
    return out.at(0);
  }
  std::int64_t mailbox_id(const std::string& account, const std::string& name) {
    auto st = s_->status(account, name);
    EXPECT_TRUE(st.has_value()) << name;
    return st ? st->id : -1;
  }
  std::size_t blob_files() {
    std::size_t n = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(root_ + "/blobs")) {
      n += e.is_regular_file() ? 1 : 0;
    }
    return n;
  }

  std::string root_;
  std::unique_ptr<store> s_;
};

}  // namespace homthu::storage::testing
