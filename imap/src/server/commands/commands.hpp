#pragma once
// Handlers, one file per command under imap/src/server/commands/.

#include "../session.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> capability(session&, command&);
asio::awaitable<reply> noop(session&, command&);
asio::awaitable<reply> logout(session&, command&);
asio::awaitable<reply> starttls(session&, command&);
asio::awaitable<reply> login(session&, command&);
asio::awaitable<reply> authenticate(session&, command&);
asio::awaitable<reply> enable(session&, command&);
asio::awaitable<reply> id(session&, command&);
asio::awaitable<reply> namespace_(session&, command&);
asio::awaitable<reply> list(session&, command&);
asio::awaitable<reply> lsub(session&, command&);
asio::awaitable<reply> create(session&, command&);
asio::awaitable<reply> delete_(session&, command&);
asio::awaitable<reply> rename(session&, command&);
asio::awaitable<reply> subscribe(session&, command&);
asio::awaitable<reply> unsubscribe(session&, command&);
asio::awaitable<reply> status(session&, command&);
asio::awaitable<reply> select(session&, command&);
asio::awaitable<reply> examine(session&, command&);
asio::awaitable<reply> unselect(session&, command&);
asio::awaitable<reply> close(session&, command&);
asio::awaitable<reply> check(session&, command&);
asio::awaitable<reply> expunge(session&, command&);
asio::awaitable<reply> fetch(session&, command&);
asio::awaitable<reply> store(session&, command&);
asio::awaitable<reply> copy(session&, command&);
asio::awaitable<reply> move(session&, command&);
asio::awaitable<reply> search(session&, command&);
asio::awaitable<reply> sort(session&, command&);
asio::awaitable<reply> thread(session&, command&);
asio::awaitable<reply> idle(session&, command&);
asio::awaitable<reply> getquota(session&, command&);
asio::awaitable<reply> getquotaroot(session&, command&);
asio::awaitable<reply> setquota(session&, command&);
asio::awaitable<reply> compress(session&, command&);

// Sequence numbers (or UIDs for UID commands) → indexes into sel->uids;
// false with a BAD text when "$" has no saved result.
bool resolve_set(session& s, const proto::seqset& set, bool uid, std::vector<std::uint32_t>& indexes);

}  // namespace homthu::imap::cmd

namespace homthu::imap::cmd {
// Turns a directory answer into the session's login (LOGIN, AUTHENTICATE).
asio::awaitable<reply> finish_login(session& s, directory::result<directory::auth_result> r);
// Reads a mailbox argument already parsed; false (with the reply) when invalid.
bool decode_mailbox_arg(session& s, const std::string& wire, std::string& name, reply& err);
}  // namespace homthu::imap::cmd

namespace homthu::imap::cmd {
// "(MESSAGES 3 UIDNEXT 9 …)" for STATUS and LIST-STATUS.
std::string status_items(const storage::mailbox_status& m, const std::vector<std::string>& items,
                         std::uint32_t deleted);
// Counts \Deleted messages when DELETED is asked for (blocking; call in work()).
std::uint32_t count_deleted(session& s, std::int64_t mailbox_id);
}  // namespace homthu::imap::cmd

namespace homthu::imap::cmd {
// Evaluates a search program over the selected mailbox (blocking: call in
// work()). Returns indexes into sel->uids, ascending; sets `error` (a NO
// reply text) on a storage failure. `highest_modseq` gets the largest MODSEQ
// of the matches when the program used the MODSEQ key (RFC 7162 §3.1.5).
std::vector<std::uint32_t> evaluate_search(session& s, const proto::search_key& root, std::string& error,
                                           std::optional<std::uint64_t>& highest_modseq);
bool charset_ok(const std::string& upper_charset);
}  // namespace homthu::imap::cmd
