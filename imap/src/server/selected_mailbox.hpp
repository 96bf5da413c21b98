#pragma once
// The selected mailbox as this session's client sees it: sequence number n
// is uids[n-1]. The map changes only when the session tells the client
// (EXISTS, EXPUNGE/VANISHED), never behind its back; messages expunged by
// others wait in pending_expunge until an EXPUNGE may be sent.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace homthu::imap {

struct selected_mailbox {
  std::int64_t id = 0;
  std::string name;                   // UTF-8, as stored
  bool read_only = false;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t known_modseq = 0;     // changes up to here have been told
  std::vector<std::uint32_t> uids;    // ascending
  std::vector<std::uint64_t> modseqs; // parallel to uids: last modseq told
  std::vector<std::uint32_t> pending_expunge;  // uids gone from storage, still numbered here

  std::uint32_t count() const { return static_cast<std::uint32_t>(uids.size()); }
  // 1-based sequence number of uid, 0 when absent.
  std::uint32_t seq_of(std::uint32_t uid) const {
    auto it = std::lower_bound(uids.begin(), uids.end(), uid);
    return it != uids.end() && *it == uid ? static_cast<std::uint32_t>(it - uids.begin()) + 1 : 0;
  }
  bool is_pending_expunge(std::uint32_t uid) const {
    return std::find(pending_expunge.begin(), pending_expunge.end(), uid) != pending_expunge.end();
  }
  // Removes the message with this 1-based sequence number.
  void remove_seq(std::uint32_t seq) {
    uids.erase(uids.begin() + (seq - 1));
    modseqs.erase(modseqs.begin() + (seq - 1));
  }
};

}  // namespace homthu::imap
