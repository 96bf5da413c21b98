// Fuzzes the one parse of a message at delivery (storage/src/mime): MIME
// structure, RFC 2047 encoded words and RFC 2231 parameters through GMime,
// addresses, and the IMAP strings built from them. Checks that ENVELOPE,
// BODY and BODYSTRUCTURE are each one well-formed IMAP value whatever the
// message holds (a malformed one breaks every client that FETCHes it), and
// that decoded fields are valid UTF-8 (they go to SQLite and to SEARCH).

#include "fuzz_util.hpp"
#include "imap_syntax.hpp"

#include "mime/parse.hpp"
#include "mime/syntax.hpp"

#include <cstring>
#include <string>

namespace {

namespace mime = homthu::storage::mime;
using homthu::fuzz::check;
using homthu::fuzz::is_imap_value;
using homthu::fuzz::valid_utf8;

class memory_reader final : public homthu::storage::blob_reader {
 public:
  explicit memory_reader(std::string_view s) : s_(s) {}
  std::uint64_t size() const override { return s_.size(); }
  homthu::storage::result<std::size_t> read(std::span<char> buf) override {
    std::size_t n = std::min(buf.size(), s_.size() - pos_);
    std::memcpy(buf.data(), s_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  homthu::storage::result<void> seek(std::uint64_t off) override {
    pos_ = static_cast<std::size_t>(std::min<std::uint64_t>(off, s_.size()));
    return {};
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

void check_value(const std::string& v, const char* what) {
  if (!is_imap_value(v)) {
    std::fprintf(stderr, "%s: [%s]\n", what, v.substr(0, 2000).c_str());
    homthu::fuzz::fail(what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  memory_reader r(in);
  auto p = mime::parse(r);
  check_value(p.meta.envelope, "ENVELOPE is not one IMAP value");
  check_value(p.meta.body, "BODY is not one IMAP value");
  check_value(p.meta.bodystructure, "BODYSTRUCTURE is not one IMAP value");
  check(valid_utf8(p.meta.subject), "decoded Subject is not UTF-8");
  check(valid_utf8(p.meta.from) && valid_utf8(p.meta.to) && valid_utf8(p.meta.cc), "decoded address is not UTF-8");
  check(p.body_text.size() <= mime::max_index_text + 65536, "indexed text over its cap");

  // The header-value helpers on the raw input as one header value.
  const std::string_view value = in.substr(0, 1 << 16);
  auto list = mime::parse_address_list(value);
  check(list.size() <= 1000, "address list over its cap");
  check(is_imap_value(mime::imap_address_list(list)), "address list is not one IMAP value");
  auto cf = mime::parse_content_field(value);
  check(cf.params.size() <= 100, "parameters over their cap");
  for (const auto& [k, v] : cf.params) {
    check(is_imap_value(mime::imap_string(k)) && is_imap_value(mime::imap_string(v)), "parameter not an IMAP string");
  }
  check(is_imap_value(mime::imap_string(value)), "imap_string is not one IMAP value");
  auto unfolded = mime::unfold(value);
  check(unfolded.find('\0') == std::string::npos, "NUL survived unfold");
  (void)mime::base_subject(unfolded);
  (void)mime::html_to_text(value);
  return 0;
}
