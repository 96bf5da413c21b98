// Fuzzes the IMAP command grammar the way the session reaches it: bytes are
// framed by the reader (literals taken inline when they fit), then each
// command's tag and name are read and its argument parser runs on the rest
// (imap/include/homthu/imap/proto/args.hpp). Also round-trips mailbox names
// through modified UTF-7 (RFC 3501 §5.1.3).

#include "fuzz_util.hpp"

#include "homthu/imap/proto/args.hpp"
#include "homthu/imap/proto/lexer.hpp"
#include "homthu/imap/proto/reader.hpp"
#include "homthu/imap/proto/utf7.hpp"

#include <string>

namespace {

namespace proto = homthu::imap::proto;
using homthu::fuzz::check;

void check_mailbox_name(const std::string& name) {
  if (auto u = proto::mutf7_to_utf8(name)) {
    check(proto::valid_utf8(*u), "mUTF-7 decoded to invalid UTF-8");
    auto back = proto::utf8_to_mutf7(*u);
    check(back.has_value(), "decoded mailbox name does not encode back");
    auto again = proto::mutf7_to_utf8(*back);
    check(again && *again == *u, "mUTF-7 round trip");
  }
  if (proto::valid_utf8(name)) {
    if (auto m = proto::utf8_to_mutf7(name)) {
      auto u = proto::mutf7_to_utf8(*m);
      check(u && *u == name, "UTF-8 -> mUTF-7 -> UTF-8 round trip");
    }
  }
}

void dispatch(std::string_view text) {
  proto::lexer lex(text);
  auto tag = lex.tag();
  if (!tag || !lex.skip(' ')) {
    return;
  }
  auto name_tok = lex.atom();
  if (!name_tok) {
    return;
  }
  std::string name = proto::upper(*name_tok);
  if (name == "UID") {
    auto sub = lex.skip(' ') ? lex.atom() : std::nullopt;
    if (!sub) {
      return;
    }
    name = proto::upper(*sub);
  }
  if (!lex.at_end() && !lex.skip(' ')) {
    return;
  }
  if (name == "LOGIN") {
    proto::parse_login(lex);
  } else if (name == "AUTHENTICATE") {
    proto::parse_authenticate(lex);
  } else if (name == "DELETE" || name == "SUBSCRIBE" || name == "UNSUBSCRIBE" || name == "GETQUOTAROOT" ||
             name == "GETQUOTA") {
    if (auto m = proto::parse_mailbox_only(lex)) {
      check_mailbox_name(*m);
    }
  } else if (name == "CREATE") {
    if (auto c = proto::parse_create(lex)) {
      check_mailbox_name(c->mailbox);
    }
  } else if (name == "RENAME") {
    proto::parse_rename(lex);
  } else if (name == "SELECT" || name == "EXAMINE") {
    proto::parse_select(lex);
  } else if (name == "LIST" || name == "LSUB") {
    proto::parse_list(lex, name == "LSUB");
  } else if (name == "STATUS") {
    proto::parse_status(lex);
  } else if (name == "APPEND") {
    if (proto::parse_append_mailbox(lex) && lex.sp()) {
      proto::parse_append_message(lex);
    }
  } else if (name == "FETCH") {
    proto::parse_fetch(lex);
  } else if (name == "STORE") {
    proto::parse_store(lex);
  } else if (name == "COPY" || name == "MOVE") {
    proto::parse_copy(lex);
  } else if (name == "EXPUNGE") {
    proto::parse_uid_expunge(lex);
  } else if (name == "SEARCH") {
    proto::parse_search(lex);
  } else if (name == "SORT") {
    proto::parse_sort(lex);
  } else if (name == "THREAD") {
    proto::parse_thread(lex);
  } else if (name == "ENABLE") {
    proto::parse_enable(lex);
  } else if (name == "ID") {
    proto::parse_id(lex);
  }
  check(lex.position() <= text.size(), "lexer moved past the end");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  proto::reader r;
  r.feed(in);
  for (int n = 0; n < 10000; ++n) {
    auto k = r.next();
    if (k == proto::reader::kind::need_more) {
      break;
    }
    if (k == proto::reader::kind::command) {
      std::string text(r.text());
      r.next_command();
      dispatch(text);
    } else if (k == proto::reader::kind::literal) {
      if (r.fits_inline()) {
        r.accept_literal();
      } else if (r.literal().sync) {
        r.refuse_literal();
      } else {
        r.stream_literal();
      }
    }
  }
  // An unterminated last command is parsed as it stands.
  if (!in.empty() && in.back() != '\n' && in.size() < 70000) {
    dispatch(in);
  }
  return 0;
}
