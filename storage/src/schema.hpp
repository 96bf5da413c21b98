#pragma once
// The metadata schema (one database for every account; storage/README.md
// explains why and gives the measurements). Columns added later
// (mailboxes.first_recent_uid and expunge_floor, expunged.at) are added by
// migrate() in sqlite_store.cpp, for new and old databases alike; so is a
// full-text index of another format (settings.fts_format) made again.

namespace homthu::storage {

// The full-text index's format: what `fts` holds and how its texts are made
// (mime::parse, texts_of and text::fold_for_index in sqlite_store.cpp).
// Raised whenever any of these changes what a message indexes as, since a
// contentless row can only be deleted with the very texts it was made from;
// a database of another format has its index made again.
inline constexpr int fts_format = 2;

inline constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accounts(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS mailboxes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: sessions hold ids
  account_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  special INTEGER NOT NULL DEFAULT 0,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1,
  highest_modseq INTEGER NOT NULL DEFAULT 1,
  messages INTEGER NOT NULL DEFAULT 0,
  unseen INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  UNIQUE(account_id, name));
CREATE TABLE IF NOT EXISTS subscriptions(
  account_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY(account_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs(
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  refcount INTEGER NOT NULL DEFAULT 0,
  envelope TEXT NOT NULL, bodystructure TEXT NOT NULL, body TEXT NOT NULL,
  subject TEXT NOT NULL, base_subject TEXT NOT NULL,
  from_ TEXT NOT NULL, to_ TEXT NOT NULL, cc TEXT NOT NULL, bcc TEXT NOT NULL,
  sort_from TEXT NOT NULL, sort_to TEXT NOT NULL, sort_cc TEXT NOT NULL,
  display_from TEXT NOT NULL, display_to TEXT NOT NULL,
  message_id TEXT NOT NULL, in_reply_to TEXT NOT NULL, refs TEXT NOT NULL,
  sent_date INTEGER NOT NULL, header_size INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_unreferenced ON blobs(refcount) WHERE refcount <= 0;
-- Messages up to [storage] inline_max live here rather than in blobs/:
-- committed with their message rows, deleted with their blobs row.
CREATE TABLE IF NOT EXISTS blob_content(
  blob_id INTEGER PRIMARY KEY,
  encrypted INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  keywords TEXT NOT NULL DEFAULT '',
  internal_date INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blob_id INTEGER NOT NULL,
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS messages_blob ON messages(blob_id);
CREATE TABLE IF NOT EXISTS expunged(
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(mailbox_id, modseq);
-- Contentless (format 2, settings.fts_format): the index keeps no copy of
-- the text, which the stored message already holds. A row is deleted with
-- the texts it was made from, parsed again from the message (garbage
-- collection). blobs.id is never reused (settings.blob_id_floor), so index
-- entries a failed delete left behind can never match another message.
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
  subject, from_, to_, cc, bcc, body,
  content = '', columnsize = 0,
  tokenize = 'unicode61 remove_diacritics 2');
-- Blobs whose text is not in fts yet: written with the blob row, removed in
-- the transaction that indexes it (after the delivery's commit, see
-- sqlite_store.cpp "full-text index").
CREATE TABLE IF NOT EXISTS fts_pending(blob_id INTEGER PRIMARY KEY);
)sql";

}  // namespace homthu::storage
