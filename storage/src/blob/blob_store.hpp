#pragma once
// Content-addressed message bodies: blobs/ab/cd/<sha256 of the plaintext>.
// Encrypted blobs carry the suffix ".e" (libsodium secretstream
// XChaCha20-Poly1305); their name is still the plaintext hash, so the same
// message is stored once whether or not it arrived before encryption was
// switched on.
//
// Invariants: a blob file appears under its final name only complete and
// fsync'd (written to tmp/, fsync'd, renamed, directory fsync'd). A pinned
// blob is never deleted; the store pins a blob from spool::finish() until the
// spool is destroyed, and during deliver()/append().

#include "homthu/storage/store.hpp"

#include <array>
#include <condition_variable>
#include <vector>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace homthu::storage::blob {

using key = std::array<unsigned char, 32>;

// Reads a key file: 32 raw bytes or 64 hex digits (whitespace ignored).
// Throws std::runtime_error naming the file.
key load_key(const std::string& path);

// True for 64 lowercase hex digits: the only blob ids accepted from callers,
// so an id can never name a path outside blobs/.
bool valid_id(std::string_view id);

// A message small enough to live in the metadata database (storage/README.md,
// "Small messages inside the database"): its stored form (plaintext, or the
// same secretstream format as an encrypted file) is committed with the
// message rows, so its delivery costs one WAL fsync instead of a file's.
struct inline_blob {
  std::string data;
  bool encrypted = false;
};

class blob_store {
 public:
  // inline_max: spools whose content stays at or below this many octets
  // keep it in memory and finish() without a file (0: always a file).
  blob_store(std::string root, std::optional<key> k, bool fsync, std::size_t inline_max = 0);

  result<std::unique_ptr<spool>> begin_spool();
  // A blob file (not inline content: the store reads that from its database).
  result<std::unique_ptr<blob_reader>> open(std::string_view id) const;
  // Reader over inline content (decrypting it when encrypted).
  result<std::unique_ptr<blob_reader>> open_inline(std::shared_ptr<const inline_blob> b) const;
  // Inline content a finished spool holds until its delivery commits it;
  // null when none. Held from finish() until the spool is destroyed.
  std::shared_ptr<const inline_blob> pending(std::string_view id) const;
  void add_pending(const std::string& id, std::shared_ptr<const inline_blob> b);
  void drop_pending(const std::string& id);
  bool exists(std::string_view id) const;
  // Plaintext size of a stored blob.
  result<std::uint64_t> size_of(std::string_view id) const;

  void pin(const std::string& id);
  void unpin(const std::string& id);
  bool pinned(const std::string& id) const;
  // Deletes the blob file unless pinned. Returns true when it is gone.
  bool remove_unless_pinned(const std::string& id);

  // Every blob file: id, path, modification time (unix seconds).
  void for_each_blob(const std::function<void(const std::string& id, const std::string& path,
                                              std::int64_t mtime)>& fn) const;
  // Every leftover file in tmp/: path, modification time.
  void for_each_temp(const std::function<void(const std::string& path, std::int64_t mtime)>& fn) const;

  const std::string& root() const { return root_; }
  bool encrypted() const { return key_.has_value(); }
  bool fsync_enabled() const { return fsync_; }

  // Used by the spool: fsyncs a finished temp file (fd still open), moves it
  // into place and fsyncs the directories whose entries changed.
  result<void> make_durable(int fd, const std::string& tmp_path, const std::string& id, bool encrypted_file);
  std::string tmp_dir() const { return root_ + "/tmp"; }
  const std::optional<key>& encryption_key() const { return key_; }

 private:
  result<void> commit_temp(const std::string& tmp_path, const std::string& id, bool encrypted_file,
                           std::vector<std::string>& dirs_to_sync);
  std::string path_for(std::string_view id, bool encrypted_file) const;
  result<void> ensure_dir(const std::string& dir, const std::string& parent, std::vector<std::string>& dirs_to_sync);

  std::string root_;
  std::optional<key> key_;
  bool fsync_;
  std::size_t inline_max_;
  mutable std::mutex pin_mutex_;
  std::unordered_map<std::string, int> pins_;
  // Guarded by pin_mutex_: id → (spools holding it, content).
  std::unordered_map<std::string, std::pair<int, std::shared_ptr<const inline_blob>>> pending_;
};

// errno → storage error (ENOSPC/EDQUOT → disk_full, else io_error).
boost::system::error_code errno_error(int err);
// fsync of a directory; a no-op returning success when fsync is off.
result<void> fsync_dir(const std::string& dir, bool enabled);

}  // namespace homthu::storage::blob
