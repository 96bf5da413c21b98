#pragma once
// The selected mailbox as this session's client sees it: sequence number n
// is uids[n-1]. The map changes only when the session tells the client
// (EXISTS, EXPUNGE/VANISHED), never behind its back; messages expunged by
// others wait in pending_expunge until an EXPUNGE may be sent.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
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
  // \Recent (RFC 3501 §2.3.2): the uid ranges [first, end) this session
  // claimed (or, read-only, found unclaimed), ascending and disjoint.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> recent;

  std::uint32_t count() const { return static_cast<std::uint32_t>(uids.size()); }
  // 1-based sequence number of uid, 0 when absent.
  std::uint32_t seq_of(std::uint32_t uid) const {
    auto it = std::lower_bound(uids.begin(), uids.end(), uid);
    return it != uids.end() && *it == uid ? static_cast<std::uint32_t>(it - uids.begin()) + 1 : 0;
  }
  bool is_pending_expunge(std::uint32_t uid) const {
    return std::find(pending_expunge.begin(), pending_expunge.end(), uid) != pending_expunge.end();
  }
  bool is_recent(std::uint32_t uid) const {
    auto it = std::upper_bound(recent.begin(), recent.end(), uid,
                               [](std::uint32_t u, const auto& r) { return u < r.first; });
    return it != recent.begin() && uid < std::prev(it)->second;
  }
  void add_recent(std::uint32_t first, std::uint32_t end) {
    if (first >= end) {
      return;
    }
    // Claims only move forward, so a new range starts at or after the last.
    if (!recent.empty() && first <= recent.back().second) {
      recent.back().second = std::max(recent.back().second, end);
      return;
    }
    recent.emplace_back(first, end);
  }
  // Messages in the map with \Recent.
  std::uint32_t recent_count() const {
    std::size_t n = 0;
    for (const auto& [first, end] : recent) {
      n += static_cast<std::size_t>(std::lower_bound(uids.begin(), uids.end(), end) -
                                    std::lower_bound(uids.begin(), uids.end(), first));
    }
    return static_cast<std::uint32_t>(n);
  }
  // Removes the message with this 1-based sequence number.
  void remove_seq(std::uint32_t seq) {
    uids.erase(uids.begin() + (seq - 1));
    modseqs.erase(modseqs.begin() + (seq - 1));
  }
};

}  // namespace homthu::imap
