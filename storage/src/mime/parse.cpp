// The one parse of a message at delivery (see parse.hpp).
//
// Input: a stored message, untrusted in every byte. The structure pass reads
// it once, line by line, keeping at most max_line bytes of any line and
// max_field bytes of any header field, so memory stays bounded whatever the
// message holds; boundary lines are found with a hash lookup, so a line costs
// O(its length) however deep the nesting. A second pass reads only the text
// parts (up to max_index_text) for the full-text index.
//
// GMime 3 decodes what is hard to get right by hand: RFC 2047 encoded
// words, charset conversion, Date parsing, base64/quoted-printable. The
// structure itself is scanned here because IMAP needs exact octet and line
// counts of each part as stored (RFC 9051 §7.5.2) and bounded work on
// hostile nesting (RELIABILITY.md S15/S16), which a tree-building parser
// does not give us.

#include "mime/parse.hpp"

#include "mime/syntax.hpp"
#include "text/fold.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace homthu::storage::mime {

namespace {

constexpr std::size_t max_line = 16 * 1024;
constexpr std::size_t max_field = 64 * 1024;
constexpr std::size_t max_boundary = 200;
constexpr std::size_t max_header_fields = 2000;

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = lower(c);
  }
  return out;
}

struct line_info {
  std::string_view head;   // first max_line bytes, without terminator
  std::uint64_t start = 0;
  std::uint64_t len = 0;   // without terminator
  unsigned term = 0;       // 0 (end of data), 1 (LF) or 2 (CRLF)
};

// Lines of the blob with bounded memory: a line longer than max_line is
// reported with its true length but only its head kept.
class line_reader {
 public:
  explicit line_reader(blob_reader& in) : in_(in), buf_(64 * 1024) {}

  bool next(line_info& out) {
    head_.clear();
    out.start = offset_ + pos_;
    std::uint64_t len = 0;
    char last = 0;
    while (true) {
      if (pos_ == end_) {
        if (!refill()) {
          if (len == 0) {
            return false;
          }
          finish(out, len, 0, last);
          return true;
        }
      }
      const char* b = buf_.data() + pos_;
      const void* nl = std::memchr(b, '\n', end_ - pos_);
      std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - b) : end_ - pos_;
      if (head_.size() < max_line + 1) {
        head_.append(b, std::min(n, max_line + 1 - head_.size()));
      }
      if (n > 0) {
        last = b[n - 1];
      }
      len += n;
      pos_ += n;
      if (nl) {
        ++pos_;
        ++lf_;
        finish(out, len, 1, last);
        return true;
      }
    }
  }

  std::uint64_t lf_count() const { return lf_; }
  std::uint64_t offset() const { return offset_ + pos_; }
  bool failed() const { return failed_; }

 private:
  void finish(line_info& out, std::uint64_t len, unsigned term, char last) {
    if (term == 1 && len > 0 && last == '\r') {
      term = 2;
      --len;
      if (head_.size() > len) {
        head_.resize(len);
      }
    }
    if (head_.size() > max_line) {
      head_.resize(max_line);
    }
    out.head = head_;
    out.len = len;
    out.term = term;
  }

  bool refill() {
    offset_ += end_;
    pos_ = end_ = 0;
    auto r = in_.read(std::span<char>(buf_.data(), buf_.size()));
    if (!r) {
      failed_ = true;
      return false;
    }
    end_ = *r;
    return end_ > 0;
  }

  blob_reader& in_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::uint64_t offset_ = 0;
  std::uint64_t lf_ = 0;
  std::string head_;
  bool failed_ = false;
};

enum class kind { leaf, multipart, message };

struct part {
  int parent = -1;
  unsigned depth = 0;
  bool is_root = false;  // headers are a message header (top level or message/rfc822 body)
  kind k = kind::leaf;
  std::vector<int> children;
  // Header fields we use, unfolded raw values (first occurrence wins).
  std::unordered_map<std::string, std::string> fields;
  std::string type = "text", subtype = "plain";
  content_field ct;
  std::string ct_boundary;
  bool has_ct = false;
  std::uint64_t header_start = 0, body_start = 0, body_end = 0;
  std::uint64_t lf_at_body_start = 0, lines = 0;
  bool header_done = false;
  bool closed = false;
};

bool wanted_field(const std::string& name, bool root) {
  static const char* const mime[] = {"content-type", "content-transfer-encoding", "content-id",
                                     "content-description", "content-disposition", "content-language",
                                     "content-location", "content-md5"};
  static const char* const env[] = {"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
                                    "in-reply-to", "message-id", "references"};
  for (const char* f : mime) {
    if (name == f) {
      return true;
    }
  }
  if (root) {
    for (const char* f : env) {
      if (name == f) {
        return true;
      }
    }
  }
  return false;
}

class structure_parser {
 public:
  explicit structure_parser(blob_reader& in) : lines_(in) {}

  std::vector<part> run() {
    parts_.emplace_back();
    parts_[0].is_root = true;
    cur_ = 0;
    state_ = st::header;
    line_info l;
    while (lines_.next(l)) {
      on_line(l);
      prev_len_ = l.len;
      prev_term_ = l.term;
    }
    // End of data closes everything still open.
    std::uint64_t end = lines_.offset();
    finish_header_if_open(end, lines_.lf_count());
    for (int p = cur_; p >= 0; p = parts_[p].parent) {
      close_part(p, end, lines_.lf_count(), prev_term_ == 0 && prev_len_ > 0);
    }
    for (auto& p : parts_) {
      if (!p.closed) {
        close_part_raw(p, end, lines_.lf_count(), false);
      }
    }
    return std::move(parts_);
  }

 private:
  enum class st { header, body, skip };

  void on_line(const line_info& l) {
    if (!boundaries_.empty() && l.head.size() >= 2 && l.head[0] == '-' && l.head[1] == '-') {
      if (on_boundary(l)) {
        return;
      }
    }
    if (state_ != st::header) {
      return;
    }
    part& p = parts_[cur_];
    if (l.len == 0) {
      end_header(l.start + l.term);
      return;
    }
    char c0 = l.head.empty() ? 0 : l.head[0];
    if ((c0 == ' ' || c0 == '\t') && field_ != nullptr) {
      if (field_->size() < max_field) {
        field_->append(l.head.substr(0, max_field - std::min(max_field, field_->size())));
      }
      return;
    }
    field_ = nullptr;
    std::size_t colon = l.head.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return;  // not a header line; ignored (stored as received)
    }
    std::string_view raw_name = l.head.substr(0, colon);
    while (!raw_name.empty() && (raw_name.back() == ' ' || raw_name.back() == '\t')) {
      raw_name.remove_suffix(1);
    }
    std::string name = to_lower(raw_name);
    if (!wanted_field(name, p.is_root) || p.fields.count(name) != 0 || p.fields.size() >= max_header_fields) {
      return;
    }
    auto& v = p.fields[name];
    v.assign(l.head.substr(colon + 1, max_field));
    field_ = &v;
  }

  // Returns true when the line was a delimiter of an open multipart.
  bool on_boundary(const line_info& l) {
    if (l.head.size() < l.len) {
      return false;  // longer than any boundary we accept
    }
    std::string_view cand = l.head.substr(2);
    while (!cand.empty() && (cand.back() == ' ' || cand.back() == '\t')) {
      cand.remove_suffix(1);
    }
    bool close = false;
    int m = find_open(cand);
    if (m < 0 && cand.size() >= 2 && cand.ends_with("--")) {
      m = find_open(cand.substr(0, cand.size() - 2));
      close = m >= 0;
    }
    if (m < 0) {
      return false;
    }
    // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter.
    std::uint64_t end = l.start >= prev_term_ ? l.start - prev_term_ : l.start;
    std::uint64_t lfs = lines_.lf_count() - (l.term > 0 ? 1 : 0);
    lfs -= (prev_term_ > 0 && lfs > 0) ? 1 : 0;
    finish_header_if_open(end, lfs);
    bool partial = prev_len_ > 0;
    // Close everything inside m (unterminated inner multiparts included).
    for (int p = cur_; p != m && p >= 0; p = parts_[p].parent) {
      close_part(p, end, lfs, partial);
      if (parts_[p].k == kind::multipart) {
        pop_boundary(p);
      }
    }
    cur_ = m;
    field_ = nullptr;
    if (close) {
      pop_boundary(m);
      state_ = st::skip;  // epilogue
      return true;
    }
    if (parts_.size() >= max_parts) {
      state_ = st::skip;
      return true;
    }
    part child;
    child.parent = m;
    child.depth = parts_[m].depth + 1;
    child.header_start = l.start + l.len + l.term;
    // RFC 2046 §5.1.5: in multipart/digest the default type is message/rfc822.
    if (parts_[m].subtype == "digest") {
      child.type = "message";
      child.subtype = "rfc822";
    }
    parts_.push_back(std::move(child));
    int idx = static_cast<int>(parts_.size()) - 1;
    parts_[m].children.push_back(idx);
    cur_ = idx;
    state_ = st::header;
    return true;
  }

  int find_open(std::string_view b) {
    if (b.empty()) {
      return -1;
    }
    auto it = boundaries_.find(std::string(b));
    if (it == boundaries_.end() || it->second.empty()) {
      return -1;
    }
    return it->second.back();
  }

  void pop_boundary(int p) {
    auto it = boundaries_.find(parts_[p].ct_boundary);
    if (it == boundaries_.end()) {
      return;
    }
    auto& v = it->second;
    for (auto i = v.size(); i-- > 0;) {
      if (v[i] == p) {
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
    if (v.empty()) {
      boundaries_.erase(it);
    }
  }

  void finish_header_if_open(std::uint64_t pos, std::uint64_t lfs) {
    if (state_ == st::header) {
      part& p = parts_[cur_];
      // The header never ended: everything read so far was header.
      p.header_done = true;
      p.body_start = pos;
      p.lf_at_body_start = lfs;
      describe(p);
      state_ = st::skip;
    }
  }

  void describe(part& p) {
    auto it = p.fields.find("content-type");
    if (it != p.fields.end()) {
      p.ct = parse_content_field(unfold(it->second));
      auto slash = p.ct.value.find('/');
      if (slash != std::string::npos && slash > 0 && slash + 1 < p.ct.value.size()) {
        p.type = p.ct.value.substr(0, slash);
        p.subtype = p.ct.value.substr(slash + 1);
        p.has_ct = true;
      }
    }
  }

  void end_header(std::uint64_t body_start) {
    part& p = parts_[cur_];
    p.header_done = true;
    p.body_start = body_start;
    p.lf_at_body_start = lines_.lf_count();
    field_ = nullptr;
    describe(p);
    if (p.type == "multipart" && p.depth < max_depth) {
      auto b = param(p.ct, "boundary");
      if (b && !b->empty() && b->size() <= max_boundary) {
        p.k = kind::multipart;
        p.ct_boundary = *b;
        boundaries_[*b].push_back(cur_);
        state_ = st::skip;  // preamble
        return;
      }
    }
    if (p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global") && p.depth < max_depth &&
        parts_.size() < max_parts) {
      p.k = kind::message;
      part child;
      child.parent = cur_;
      child.depth = p.depth + 1;
      child.is_root = true;
      child.header_start = body_start;
      parts_.push_back(std::move(child));
      int idx = static_cast<int>(parts_.size()) - 1;
      parts_[cur_].children.push_back(idx);
      cur_ = idx;
      state_ = st::header;
      return;
    }
    state_ = st::body;
  }

  void close_part(int idx, std::uint64_t end, std::uint64_t lfs_before_end, bool partial) {
    close_part_raw(parts_[idx], end, lfs_before_end, partial);
  }

  static void close_part_raw(part& p, std::uint64_t end, std::uint64_t lfs_before_end, bool partial) {
    if (p.closed) {
      return;
    }
    p.closed = true;
    if (!p.header_done) {
      p.body_start = end;
      p.lf_at_body_start = lfs_before_end;
    }
    p.body_end = std::max(end, p.body_start);
    std::uint64_t lfs = lfs_before_end > p.lf_at_body_start ? lfs_before_end - p.lf_at_body_start : 0;
    p.lines = lfs + ((p.body_end > p.body_start && partial) ? 1 : 0);
  }

  line_reader lines_;
  std::vector<part> parts_;
  int cur_ = 0;
  st state_ = st::header;
  std::string* field_ = nullptr;
  std::uint64_t prev_len_ = 0;
  unsigned prev_term_ = 0;
  std::unordered_map<std::string, std::vector<int>> boundaries_;
};

// --- describing -----------------------------------------------------------

std::optional<std::string> field(const part& p, const char* name) {
  auto it = p.fields.find(name);
  if (it == p.fields.end()) {
    return std::nullopt;
  }
  return unfold(it->second);
}

std::string params_list(const content_field& f) {
  if (f.params.empty()) {
    return "NIL";
  }
  std::string out = "(";
  bool first = true;
  for (const auto& [k, v] : f.params) {
    if (!first) {
      out += " ";
    }
    first = false;
    out += imap_string(k) + " " + imap_string(v);
  }
  return out + ")";
}

std::string envelope_of(const part& p) {
  auto addr = [&](const char* name) { return parse_address_list(field(p, name).value_or("")); };
  auto from = addr("from");
  auto sender = addr("sender");
  auto reply_to = addr("reply-to");
  // RFC 9051 §7.5.2: absent or empty Sender/Reply-To take the From value.
  if (sender.empty()) {
    sender = from;
  }
  if (reply_to.empty()) {
    reply_to = from;
  }
  return "(" + imap_nstring(field(p, "date")) + " " + imap_nstring(field(p, "subject")) + " " +
         imap_address_list(from) + " " + imap_address_list(sender) + " " + imap_address_list(reply_to) + " " +
         imap_address_list(addr("to")) + " " + imap_address_list(addr("cc")) + " " + imap_address_list(addr("bcc")) +
         " " + imap_nstring(field(p, "in-reply-to")) + " " + imap_nstring(field(p, "message-id")) + ")";
}

std::string extension_tail(const part& p) {
  // body-ext-1part / body-ext-mpart after MD5 or params: dsp, lang, loc.
  std::string dsp = "NIL";
  if (auto d = field(p, "content-disposition")) {
    auto f = parse_content_field(*d);
    if (!f.value.empty()) {
      dsp = "(" + imap_string(f.value) + " " + params_list(f) + ")";
    }
  }
  std::string lang = "NIL";
  if (auto l = field(p, "content-language")) {
    std::vector<std::string> tags;
    std::string cur;
    for (char c : *l) {
      if (c == ',' || c == ' ' || c == '\t') {
        if (!cur.empty()) {
          tags.push_back(cur);
          cur.clear();
        }
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) {
      tags.push_back(cur);
    }
    if (tags.size() == 1) {
      lang = imap_string(tags[0]);
    } else if (!tags.empty()) {
      lang = "(";
      for (std::size_t i = 0; i < tags.size() && i < 100; ++i) {
        lang += (i ? " " : "") + imap_string(tags[i]);
      }
      lang += ")";
    }
  }
  return dsp + " " + lang + " " + imap_nstring(field(p, "content-location"));
}

const std::string empty_text_body = "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";

// RFC 9051 §7.5.2 BODYSTRUCTURE (extensible) or BODY (non-extensible).
// Recursion is bounded by max_depth.
std::string body_of(const std::vector<part>& parts, int idx, bool ext) {
  const part& p = parts[idx];
  if (p.k == kind::multipart) {
    std::string out = "(";
    if (p.children.empty()) {
      // No delimiter ever found: describe the body as one empty text part so
      // the response stays valid (a multipart needs at least one part).
      out += empty_text_body + (ext ? " NIL NIL NIL NIL)" : ")");
    }
    for (int c : p.children) {
      out += body_of(parts, c, ext);
    }
    out += " " + imap_string(p.subtype);
    if (ext) {
      out += " " + params_list(p.ct) + " " + extension_tail(p);
    }
    return out + ")";
  }
  // A multipart we did not descend into (no boundary, too deep) is described
  // as the opaque leaf it then is.
  std::string type = p.type, subtype = p.subtype;
  content_field ct = p.ct;
  if (p.k == kind::leaf && (type == "multipart" || (type == "message" && (subtype == "rfc822" || subtype == "global")))) {
    type = "application";
    subtype = "octet-stream";
  }
  // RFC 2045 §5.2: a text part without a charset is us-ascii; say so.
  if (type == "text" && !param(ct, "charset")) {
    ct.params.insert(ct.params.begin(), {"charset", "us-ascii"});
  }
  std::string out = "(" + imap_string(type) + " " + imap_string(subtype) + " " + params_list(ct) + " " +
                    imap_nstring(field(p, "content-id")) + " " + imap_nstring(field(p, "content-description")) +
                    " " + imap_string(field(p, "content-transfer-encoding").value_or("7bit")) + " " +
                    std::to_string(p.body_end - p.body_start);
  if (p.k == kind::message) {
    const part& inner = parts[p.children.at(0)];
    out += " " + envelope_of(inner) + " " + body_of(parts, p.children[0], ext) + " " + std::to_string(p.lines);
  } else if (type == "text") {
    out += " " + std::to_string(p.lines);
  }
  if (ext) {
    out += " " + imap_nstring(field(p, "content-md5")) + " " + extension_tail(p);
  }
  return out + ")";
}

// A message/rfc822 part's inner message is itself a root whose own type
// describes the body; body_of() on the inner part handles that. The inner
// root of a message part may be a multipart or a leaf like any other.

std::string decode_text(const std::string& raw) {
  char* d = g_mime_utils_header_decode_text(nullptr, raw.c_str());
  std::string out = d ? d : raw;
  g_free(d);
  return text::sanitize_utf8(out);
}

std::string decode_phrase(const std::string& raw) {
  char* d = g_mime_utils_header_decode_phrase(nullptr, raw.c_str());
  std::string out = d ? d : raw;
  g_free(d);
  return text::sanitize_utf8(out);
}

struct decoded_addresses {
  std::string text;       // "Name <a@b>, c@d"
  std::string first_mailbox;
  std::string first_display;
};

decoded_addresses decode_addresses(const std::optional<std::string>& raw) {
  decoded_addresses out;
  if (!raw) {
    return out;
  }
  bool first = true;
  for (const auto& a : parse_address_list(*raw)) {
    if (!a.host) {
      continue;  // group start/end markers
    }
    std::string spec = a.mailbox.value_or("");
    if (!a.host->empty()) {
      spec += "@" + *a.host;
    }
    std::string name = a.name ? decode_phrase(*a.name) : std::string();
    if (!out.text.empty()) {
      out.text += ", ";
    }
    out.text += name.empty() ? spec : name + " <" + spec + ">";
    if (first) {
      out.first_mailbox = text::sanitize_utf8(a.mailbox.value_or(""));
      out.first_display = name.empty() ? text::sanitize_utf8(spec) : name;
      first = false;
    }
  }
  out.text = text::sanitize_utf8(out.text);
  return out;
}

std::int64_t parse_date(const std::optional<std::string>& raw) {
  if (!raw) {
    return 0;
  }
  GDateTime* dt = g_mime_utils_header_decode_date(raw->c_str());
  if (!dt) {
    return 0;
  }
  std::int64_t t = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return t;
}

// Appends `in`, converted from `charset` to UTF-8, to `to`, replacing
// undecodable bytes with U+FFFD; an unknown charset is read as UTF-8 if
// valid, else windows-1252.
void append_utf8(std::string& to, const std::string& in, const std::optional<std::string>& charset) {
  std::string cs = to_lower(charset.value_or("us-ascii"));
  if (cs == "us-ascii" || cs == "utf-8" || cs == "utf8" || cs.empty()) {
    text::append_valid_utf8(to, in);
    return;
  }
  const char* name = g_mime_charset_iconv_name(cs.c_str());
  GIConv cd = g_iconv_open("UTF-8", name ? name : cs.c_str());
  if (cd == reinterpret_cast<GIConv>(-1)) {
    if (g_utf8_validate(in.data(), static_cast<gssize>(in.size()), nullptr)) {
      text::append_valid_utf8(to, in);
      return;
    }
    cd = g_iconv_open("UTF-8", "WINDOWS-1252");
    if (cd == reinterpret_cast<GIConv>(-1)) {
      text::append_valid_utf8(to, in);
      return;
    }
  }
  std::string out;
  out.reserve(in.size() * 2);
  char buf[4096];
  char* src = const_cast<char*>(in.data());
  gsize left = in.size();
  while (left > 0) {
    char* dst = buf;
    gsize room = sizeof(buf);
    gsize r = g_iconv(cd, &src, &left, &dst, &room);
    out.append(buf, sizeof(buf) - room);
    if (r == static_cast<gsize>(-1)) {
      if (errno == E2BIG) {
        continue;
      }
      // EILSEQ / EINVAL: skip one byte and mark it.
      out += "\xEF\xBF\xBD";
      ++src;
      --left;
    }
  }
  g_iconv_close(cd);
  text::append_valid_utf8(to, out);
}

bool indexed_text_part(const part& p) {
  return p.k == kind::leaf && p.type == "text" && p.body_end > p.body_start &&
         (p.subtype == "plain" || p.subtype == "html" || p.subtype == "enriched" || p.subtype == "calendar");
}

void extract_text(blob_reader& in, const std::vector<part>& parts, std::string& out) {
  std::vector<char> buf(64 * 1024);
  std::vector<char> dec;
  // Sized once: the encoded size bounds the decoded text closely enough.
  std::uint64_t estimate = 0;
  for (const auto& p : parts) {
    if (indexed_text_part(p)) {
      estimate += p.body_end - p.body_start + 1;
    }
  }
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(estimate, max_index_text + 1)));
  for (const auto& p : parts) {
    if (out.size() >= max_index_text) {
      break;
    }
    if (!indexed_text_part(p)) {
      continue;
    }
    auto cte = to_lower(field(p, "content-transfer-encoding").value_or("7bit"));
    GMimeContentEncoding enc = g_mime_content_encoding_from_string(cte.c_str());
    bool decode = enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                  enc == GMIME_CONTENT_ENCODING_UUENCODE;
    GMimeEncoding state;
    if (decode) {
      g_mime_encoding_init_decode(&state, enc);
    }
    std::string raw;
    std::size_t room = max_index_text - out.size();
    raw.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(room, p.body_end - p.body_start)));
    if (!in.seek(p.body_start)) {
      break;
    }
    std::uint64_t left = p.body_end - p.body_start;
    while (left > 0 && raw.size() < room) {
      auto n = in.read(std::span<char>(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left))));
      if (!n || *n == 0) {
        break;
      }
      left -= *n;
      if (decode) {
        dec.resize(g_mime_encoding_outlen(&state, *n) + 16);
        std::size_t m = g_mime_encoding_step(&state, buf.data(), *n, dec.data());
        raw.append(dec.data(), std::min(m, room - raw.size()));
      } else {
        raw.append(buf.data(), std::min<std::size_t>(*n, room - raw.size()));
      }
    }
    if (decode && raw.size() < room) {
      dec.resize(g_mime_encoding_outlen(&state, 0) + 16);
      std::size_t m = g_mime_encoding_flush(&state, buf.data(), 0, dec.data());
      raw.append(dec.data(), std::min(m, room - raw.size()));
    }
    const auto charset = param(p.ct, "charset");
    if (p.subtype == "html") {
      std::string text;
      append_utf8(text, raw, charset);
      out += html_to_text(text);
    } else {
      append_utf8(out, raw, charset);
    }
    out += "\n";
  }
  if (out.size() > max_index_text) {
    out.resize(max_index_text);
  }
}

}  // namespace

parsed parse(blob_reader& in) {
  init_gmime();
  parsed out;
  structure_parser sp(in);
  std::vector<part> parts = sp.run();
  const part& root = parts[0];
  auto& m = out.meta;
  m.envelope = envelope_of(root);
  m.bodystructure = body_of(parts, 0, true);
  m.body = body_of(parts, 0, false);
  m.header_size = static_cast<std::uint32_t>(std::min<std::uint64_t>(root.body_start, 0xFFFFFFFFu));
  if (auto s = field(root, "subject")) {
    m.subject = decode_text(*s);
  }
  m.base_subject = base_subject(m.subject);
  auto from = decode_addresses(field(root, "from"));
  auto to = decode_addresses(field(root, "to"));
  auto cc = decode_addresses(field(root, "cc"));
  auto bcc = decode_addresses(field(root, "bcc"));
  m.from = from.text;
  m.to = to.text;
  m.cc = cc.text;
  m.bcc = bcc.text;
  m.sort_from = from.first_mailbox;
  m.sort_to = to.first_mailbox;
  m.sort_cc = cc.first_mailbox;
  m.display_from = from.first_display;
  m.display_to = to.first_display;
  m.message_id = text::sanitize_utf8(field(root, "message-id").value_or(""));
  m.in_reply_to = text::sanitize_utf8(field(root, "in-reply-to").value_or(""));
  m.references = text::sanitize_utf8(field(root, "references").value_or(""));
  m.sent_date = parse_date(field(root, "date"));
  extract_text(in, parts, out.body_text);
  return out;
}

}  // namespace homthu::storage::mime

namespace homthu::storage {

namespace {

class view_reader final : public blob_reader {
 public:
  explicit view_reader(std::string_view s) : s_(s) {}
  std::uint64_t size() const override { return s_.size(); }
  result<std::size_t> read(std::span<char> buf) override {
    const auto n = std::min(buf.size(), s_.size() - pos_);
    std::copy_n(s_.data() + pos_, n, buf.data());
    pos_ += n;
    return n;
  }
  result<void> seek(std::uint64_t offset) override {
    pos_ = static_cast<std::size_t>(std::min<std::uint64_t>(offset, s_.size()));
    return {};
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

void parsed_message_delete::operator()(parsed_message* p) const { delete p; }

// The parser reads no field of a prefix of whole header fields it does not
// want, and every figure it gives but the top header's size is a distance
// between two positions inside the content (parse_test checks this).
parsed_message_ptr parse_ahead(std::string_view content) {
  view_reader r(content);
  parsed_message_ptr p(new parsed_message);
  p->value = mime::parse(r);
  p->size = content.size();
  return p;
}

}  // namespace homthu::storage
