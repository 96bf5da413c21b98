#pragma once
// Search folding for Vietnamese: lowercase, strip diacritics (precomposed
// and combining), đ→d, so "hanh chinh", "Hành Chính" and "HÀNH CHÍNH" all
// fold to "hanh chinh". Applied to both the query and the searched text.

#include <string>
#include <string_view>

namespace homthu::admin {

// Invalid UTF-8 bytes are dropped; code points without a folding are kept.
std::string fold_search(std::string_view utf8);

}  // namespace homthu::admin
