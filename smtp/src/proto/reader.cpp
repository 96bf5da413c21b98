// Line and DATA readers. Input: untrusted bytes straight from the socket.
// Invariants: memory held is bounded by the line limit plus one fed chunk;
// DATA ends only at <CRLF>.<CRLF>; no byte after a bare CR, bare LF or NUL is
// passed on (the message is refused), so one DATA can never become two
// messages here or at any host we relay to.
#include "homthu/smtp/proto/reader.hpp"

#include <algorithm>

namespace homthu::smtp::proto {

line_reader::line_reader(std::size_t max_line) : max_(max_line) {}

void line_reader::compact() {
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ > 4096)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void line_reader::feed(std::string_view bytes) {
  compact();
  if (discarding_) {
    const auto lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      return;
    }
    discarding_ = false;
    pending_too_long_ = true;
    bytes.remove_prefix(lf + 1);
  }
  buf_.append(bytes);
}

line_reader::event line_reader::next() {
  if (pending_too_long_) {
    pending_too_long_ = false;
    return {kind::too_long, {}};
  }
  const std::string_view rest = buffered();
  const auto lf = rest.find('\n');
  if (lf == std::string_view::npos) {
    if (rest.size() >= max_) {
      // Drop what we have and the rest of the line as it arrives.
      buf_.clear();
      pos_ = 0;
      discarding_ = true;
    }
    return {kind::need_more, {}};
  }
  pos_ += lf + 1;
  if (lf + 1 > max_) {
    return {kind::too_long, {}};
  }
  auto line = rest.substr(0, lf);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return {kind::line, line};
}

void line_reader::consume(std::size_t n) {
  pos_ = std::min(buf_.size(), pos_ + n);
  compact();
}

void line_reader::clear() {
  buf_.clear();
  pos_ = 0;
  discarding_ = false;
  pending_too_long_ = false;
}

data_reader::data_reader(std::uint64_t max_size) : max_(max_size) {}

void data_reader::emit(std::string& out, std::string_view s) {
  size_ += s.size();
  if (size_ > max_) {
    flag(problem::too_big);
  }
  if (problem_ == problem::none) {
    out.append(s);
  }
}

data_reader::progress data_reader::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    switch (st_) {
      case state::bol:
        if (c == '.') {
          st_ = state::dot;
          ++i;
          continue;
        }
        st_ = state::text;
        continue;  // reprocess c as text
      case state::text: {
        // Fast path: copy the run up to the next byte that matters.
        std::size_t j = i;
        while (j < in.size() && in[j] != '\r' && in[j] != '\n' && in[j] != '\0') {
          ++j;
        }
        if (j > i) {
          emit(out, in.substr(i, j - i));
          i = j;
          continue;
        }
        if (c == '\r') {
          st_ = state::cr;
        } else if (c == '\n') {
          flag(problem::bare_cr_lf);  // RFC 5321 §2.3.8: bare LF
        } else {
          flag(problem::nul);
        }
        ++i;
        continue;
      }
      case state::cr:
        if (c == '\n') {
          emit(out, "\r\n");
          st_ = state::bol;
          ++i;
          continue;
        }
        flag(problem::bare_cr_lf);  // bare CR
        st_ = state::text;
        continue;
      case state::dot:
        if (c == '\r') {
          st_ = state::dot_cr;
          ++i;
          continue;
        }
        // §4.5.2: a leading dot followed by more text is removed.
        st_ = state::text;
        continue;
      case state::dot_cr:
        if (c == '\n') {
          st_ = state::bol;
          return {i + 1, true};
        }
        // ".\r" then something else: the dot was stuffing, the CR is bare.
        flag(problem::bare_cr_lf);
        st_ = state::text;
        continue;
    }
  }
  return {i, false};
}

}  // namespace homthu::smtp::proto
