#pragma once
// Text normalisation for the full-text index. SQLite's unicode61 tokenizer
// with remove_diacritics 2 folds case and strips combining marks, but "đ"
// (U+0111) is a letter of its own, not d + a mark, so Vietnamese "Đà Nẵng"
// would not match "Da Nang". We fold đ/Đ to d/D on both the index and the
// query side.

#include <string>
#include <string_view>
#include <vector>

namespace homthu::storage::text {

// đ/Đ (and the look-alike Ɖ/ɖ) → d/D; invalid UTF-8 bytes → U+FFFD so that
// what reaches SQLite is always valid UTF-8.
std::string fold_for_index(std::string_view utf8);

// Splits a user query into words (letters and digits; everything else
// separates), folded as above.
std::vector<std::string> query_words(std::string_view utf8);

// An FTS5 MATCH expression requiring every word as a prefix, optionally
// restricted to one column. Words are quoted, so FTS5 syntax in the query is
// inert. Empty when there are no words.
std::string match_expression(const std::vector<std::string>& words, std::string_view column);

// Valid UTF-8 (U+FFFD for invalid sequences), for any text we store.
std::string sanitize_utf8(std::string_view in);
// The same, appended to out (no intermediate copy of a message's text).
void append_valid_utf8(std::string& out, std::string_view in);

}  // namespace homthu::storage::text
