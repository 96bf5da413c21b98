// Command framing (see reader.hpp). Input is untrusted; every buffer is
// bounded by the limits, and no literal byte is consumed before the session
// has decided what to do with the literal.
#include "homthu/imap/proto/reader.hpp"

#include <algorithm>

namespace homthu::imap::proto {

void reader::feed(std::string_view bytes) {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > 4096 && pos_ * 2 > in_.size()) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  in_.append(bytes);
}

bool reader::idle() const {
  return state_ == state::line && cmd_.empty() && pos_ == in_.size();
}

void reader::shrink() {
  if (pos_ == in_.size()) {
    std::string().swap(in_);
    pos_ = 0;
  }
  if (cmd_.empty() && cmd_.capacity() > 256) {
    std::string().swap(cmd_);
  }
}

void reader::discard_input() {
  in_.clear();
  pos_ = 0;
  cmd_.clear();
  line_start_ = 0;
  state_ = state::line;
}

void reader::next_command() {
  cmd_.clear();
  line_start_ = 0;
  if (state_ == state::done) {
    state_ = state::line;
  }
}

// RFC 9051 §4.3 / RFC 7888: literal = "{" number64 ["+"] "}" CRLF, at the
// very end of a line; literal8 = "~{" number64 "}" CRLF (RFC 3516).
bool reader::parse_announcement() {
  std::string_view line(cmd_);
  line.remove_prefix(line_start_);
  if (line.empty() || line.back() != '}') {
    return false;
  }
  auto open = line.rfind('{');
  if (open == std::string_view::npos) {
    return false;
  }
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  literal_info info;
  if (!inner.empty() && (inner.back() == '+' || inner.back() == '-')) {
    info.sync = false;
    inner.remove_suffix(1);
  }
  if (inner.empty() || inner.size() > 19) {
    return false;
  }
  std::uint64_t n = 0;
  for (char c : inner) {
    if (c < '0' || c > '9') {
      return false;
    }
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  info.size = n;
  info.binary = open > 0 && line[open - 1] == '~';
  lit_ = info;
  return true;
}

reader::kind reader::next() {
  for (;;) {
    std::string_view avail(in_);
    avail.remove_prefix(pos_);
    switch (state_) {
      case state::done:
        return kind::command;
      case state::decide:
        return kind::literal;
      case state::skip: {
        auto nl = avail.find('\n');
        if (nl == std::string_view::npos) {
          pos_ = in_.size();
          return kind::need_more;
        }
        pos_ += nl + 1;
        cmd_.clear();
        line_start_ = 0;
        state_ = state::line;
        continue;
      }
      case state::literal_inline: {
        if (remaining_ == 0) {
          state_ = state::line;
          line_start_ = cmd_.size();
          continue;
        }
        if (avail.empty()) {
          return kind::need_more;
        }
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, avail.size()));
        cmd_.append(avail.substr(0, n));
        pos_ += n;
        remaining_ -= n;
        continue;
      }
      case state::literal_stream: {
        if (remaining_ == 0) {
          state_ = state::line;
          line_start_ = cmd_.size();
          return kind::literal_end;
        }
        if (avail.empty()) {
          return kind::need_more;
        }
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, avail.size()));
        data_ = avail.substr(0, n);
        pos_ += n;
        remaining_ -= n;
        return kind::literal_data;
      }
      case state::line: {
        if (avail.empty()) {
          return kind::need_more;
        }
        auto nl = avail.find('\n');
        std::size_t take = nl == std::string_view::npos ? avail.size() : nl + 1;
        std::size_t line_len = cmd_.size() - line_start_ + take;
        // After a streamed literal the text holds only what followed it, and
        // that is bounded like a command of its own.
        bool over_command = cmd_.size() + take > limits_.max_command + 2;
        if (line_len > limits_.max_line + 2 || over_command) {
          // I1: report once, then skip to the end of the line without storing it.
          cmd_.clear();
          line_start_ = 0;
          state_ = state::skip;
          return kind::too_long;
        }
        cmd_.append(avail.substr(0, take));
        pos_ += take;
        if (nl == std::string_view::npos) {
          return kind::need_more;
        }
        cmd_.pop_back();
        // Only a CR of this line ends it; a CR that ends a literal already
        // taken into the command is literal data.
        if (cmd_.size() > line_start_ && cmd_.back() == '\r') {
          cmd_.pop_back();
        }
        if (parse_announcement()) {
          state_ = state::decide;
          return kind::literal;
        }
        state_ = state::done;
        return kind::command;
      }
    }
  }
}

void reader::accept_literal() {
  cmd_.append("\r\n");
  remaining_ = lit_.size;
  state_ = state::literal_inline;
}

void reader::stream_literal() {
  cmd_.clear();
  line_start_ = 0;
  remaining_ = lit_.size;
  state_ = state::literal_stream;
}

void reader::refuse_literal() {
  cmd_.clear();
  line_start_ = 0;
  state_ = state::line;
}

}  // namespace homthu::imap::proto
