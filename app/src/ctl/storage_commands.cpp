// homthuctl storage commands: fsck, gc, export, import-mail, purge.
// Trusts the configuration file and the operator's arguments; import input
// (mbox files, Maildir folders from another system) is untrusted: messages
// are streamed into spools line by line and stored as received.
// Invariant: every change goes through the storage interface, so homthuctl
// may run beside a live homthud (SQLite WAL, the blob pin and grace rules).

#include "ctl/command.hpp"

#include "homthu/common/config.hpp"
#include "homthu/storage/store.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

namespace homthu::ctl {

namespace {

namespace fs = std::filesystem;
namespace st = homthu::storage;

std::unique_ptr<st::store> open_from_config(const context& ctx) {
  return st::open_store(st::store_options_from(common::load_config(ctx.config_path)));
}

int fail(const std::string& what, const boost::system::error_code& ec) {
  std::cerr << what << ": " << ec.message() << "\n";
  return st::is_temporary(ec) ? 3 : 1;
}

// Runs a command body, turning start-up exceptions (bad config, store that
// cannot open) into a message and exit code 1.
int guarded(const std::function<int()>& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

std::string maildir_flags(const st::flags& f) {
  std::string s;
  if (f.system & st::flag_draft) {
    s += 'D';
  }
  if (f.system & st::flag_flagged) {
    s += 'F';
  }
  if (f.system & st::flag_answered) {
    s += 'R';
  }
  if (f.system & st::flag_seen) {
    s += 'S';
  }
  if (f.system & st::flag_deleted) {
    s += 'T';
  }
  return s;
}

st::flags flags_from_maildir(const std::string& filename) {
  st::flags f;
  auto pos = filename.rfind(":2,");
  if (pos == std::string::npos) {
    return f;
  }
  for (char c : filename.substr(pos + 3)) {
    switch (c) {
      case 'D': f.system |= st::flag_draft; break;
      case 'F': f.system |= st::flag_flagged; break;
      case 'R': f.system |= st::flag_answered; break;
      case 'S': f.system |= st::flag_seen; break;
      case 'T': f.system |= st::flag_deleted; break;
      default: break;
    }
  }
  return f;
}

// Maildir++ folder for a mailbox: INBOX is the root, "a/b" is ".a.b".
fs::path maildir_folder(const fs::path& root, const std::string& name) {
  if (name == "INBOX") {
    return root;
  }
  std::string n = "." + name;
  for (auto& c : n) {
    if (c == '/') {
      c = '.';
    }
  }
  return root / n;
}

int do_export(const context& ctx, const std::vector<std::string>& args) {
  std::string account, format = "mbox", out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--format" && i + 1 < args.size()) {
      format = args[++i];
    } else if (args[i] == "--out" && i + 1 < args.size()) {
      out = args[++i];
    } else if (account.empty() && !args[i].starts_with("--")) {
      account = args[i];
    } else {
      account.clear();
      break;
    }
  }
  if (account.empty() || out.empty() || (format != "mbox" && format != "maildir")) {
    std::cerr << "usage: homthuctl export ACCOUNT --format mbox|maildir --out PATH\n";
    return 2;
  }
  return guarded([&] {
    auto s = open_from_config(ctx);
    auto boxes = s->list_mailboxes(account);
    if (!boxes) {
      return fail("export", boxes.error());
    }
    fs::create_directories(out);
    std::size_t total = 0;
    std::vector<char> buf(64 * 1024);
    for (const auto& b : *boxes) {
      auto msgs = s->messages(account, b.id);
      if (!msgs) {
        return fail("export " + b.name, msgs.error());
      }
      std::vector<std::uint32_t> uids;
      for (const auto& m : *msgs) {
        uids.push_back(m.uid);
      }
      std::ofstream mbox;
      fs::path folder;
      if (format == "mbox") {
        fs::path p = fs::path(out) / (b.name + ".mbox");
        fs::create_directories(p.parent_path());
        mbox.open(p, std::ios::binary | std::ios::trunc);
      } else {
        folder = maildir_folder(out, b.name);
        for (const char* sub : {"cur", "new", "tmp"}) {
          fs::create_directories(folder / sub);
        }
      }
      // In slices, so a 100,000-message mailbox never has all its metadata
      // in memory at once.
      for (std::size_t off = 0; off < uids.size(); off += 500) {
        std::span<const std::uint32_t> slice(uids.data() + off, std::min<std::size_t>(500, uids.size() - off));
        auto meta = s->fetch_meta(account, b.id, slice);
        if (!meta) {
          return fail("export " + b.name, meta.error());
        }
        for (const auto& m : *meta) {
          auto r = s->open_blob(m.blob);
          if (!r) {
            return fail("export blob " + m.blob, r.error());
          }
          std::ofstream file;
          std::ostream* os = &mbox;
          if (format == "mbox") {
            std::time_t t = static_cast<std::time_t>(m.entry.internal_date);
            char date[64];
            std::strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", std::gmtime(&t));
            mbox << "From MAILER-DAEMON " << date << "\n";
          } else {
            std::string fname = std::to_string(m.entry.internal_date) + "." + std::to_string(b.uidvalidity) + "-" +
                                std::to_string(m.entry.uid) + ".homthu:2," + maildir_flags(m.entry.flags_);
            file.open(folder / "cur" / fname, std::ios::binary | std::ios::trunc);
            os = &file;
          }
          // mboxrd (LF line ends, ">From " quoting); Maildir keeps the bytes.
          std::string line;
          bool at_line_start = true;
          while (true) {
            auto n = (*r)->read(std::span<char>(buf.data(), buf.size()));
            if (!n) {
              return fail("export read " + m.blob, n.error());
            }
            if (*n == 0) {
              break;
            }
            if (format == "maildir") {
              os->write(buf.data(), static_cast<std::streamsize>(*n));
              continue;
            }
            for (std::size_t i = 0; i < *n; ++i) {
              char c = buf[i];
              if (c == '\n') {
                if (!line.empty() && line.back() == '\r') {
                  line.pop_back();
                }
                std::size_t k = 0;
                while (k < line.size() && line[k] == '>') {
                  ++k;
                }
                if (line.compare(k, 5, "From ") == 0) {
                  *os << '>';
                }
                *os << line << '\n';
                line.clear();
                at_line_start = true;
              } else {
                line.push_back(c);
                at_line_start = false;
              }
            }
          }
          if (format == "mbox") {
            if (!line.empty()) {
              *os << line << '\n';
            }
            (void)at_line_start;
            *os << '\n';
          }
          if (!*os) {
            std::cerr << "export: write failed\n";
            return 1;
          }
          ++total;
        }
      }
    }
    std::cout << "exported " << total << " messages of " << account << " to " << out << " (" << format << ")\n";
    return 0;
  });
}

// Streams one message into a spool, turning bare LF line ends into CRLF.
class message_writer {
 public:
  explicit message_writer(st::store& s) : s_(s) {}
  boost::system::error_code begin() {
    auto sp = s_.begin_spool();
    if (!sp) {
      return sp.error();
    }
    spool_ = std::move(*sp);
    return {};
  }
  boost::system::error_code line(std::string_view l) {
    if (!l.empty() && l.back() == '\r') {
      l.remove_suffix(1);
    }
    pending_.append(l);
    pending_ += "\r\n";
    if (pending_.size() > 64 * 1024) {
      return flush();
    }
    return {};
  }
  boost::system::error_code flush() {
    if (pending_.empty()) {
      return {};
    }
    auto r = spool_->write(pending_);
    pending_.clear();
    return r ? boost::system::error_code{} : r.error();
  }
  st::result<std::string> finish() {
    if (auto ec = flush()) {
      return ec;
    }
    return spool_->finish();
  }
  bool empty() const { return !spool_ || (spool_->size() == 0 && pending_.empty()); }

 private:
  st::store& s_;
  std::unique_ptr<st::spool> spool_;
  std::string pending_;
};

struct import_counts {
  std::size_t ok = 0;
  std::size_t failed = 0;
};

boost::system::error_code ensure_mailbox(st::store& s, const std::string& account, const std::string& name) {
  auto r = s.create_mailbox(account, name);
  if (!r && r.error() != st::make_error_code(st::error::exists)) {
    return r.error();
  }
  return {};
}

void store_message(st::store& s, const std::string& account, const std::string& mailbox, message_writer& w,
                   const st::flags& f, std::int64_t date, import_counts& c) {
  auto id = w.finish();
  if (!id) {
    std::cerr << "import: spool: " << id.error().message() << "\n";
    ++c.failed;
    return;
  }
  auto r = s.append(account, mailbox, *id, f, date, 0, 0);
  if (!r) {
    std::cerr << "import: append to " << mailbox << ": " << r.error().message() << "\n";
    ++c.failed;
    return;
  }
  ++c.ok;
}

void import_mbox(st::store& s, const std::string& account, const std::string& mailbox, const fs::path& file,
                 import_counts& c) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  std::optional<message_writer> w;
  // Blank lines are held back: the one right before a "From " line (or the
  // end of the file) is mbox framing, not part of the message.
  std::size_t blanks = 0;
  bool start = true;
  auto finish = [&] {
    if (w) {
      for (std::size_t i = 1; i < blanks; ++i) {
        (void)w->line("");
      }
      if (!w->empty()) {
        store_message(s, account, mailbox, *w, {}, 0, c);
      }
    }
    w.reset();
    blanks = 0;
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.starts_with("From ") && (start || blanks > 0)) {
      finish();
      start = false;
      w.emplace(s);
      if (auto ec = w->begin()) {
        std::cerr << "import: " << ec.message() << "\n";
        ++c.failed;
        w.reset();
      }
      continue;
    }
    start = false;
    if (line.empty()) {
      ++blanks;
      continue;
    }
    if (!w) {
      blanks = 0;
      continue;  // text before the first "From " line
    }
    for (; blanks > 0; --blanks) {
      (void)w->line("");
    }
    // mboxrd: one '>' is removed from ">From ", ">>From ", ...
    std::size_t k = 0;
    while (k < line.size() && line[k] == '>') {
      ++k;
    }
    if (k > 0 && line.compare(k, 5, "From ") == 0) {
      line.erase(0, 1);
    }
    (void)w->line(line);
  }
  finish();
}

void import_maildir_folder(st::store& s, const std::string& account, const std::string& mailbox,
                           const fs::path& folder, import_counts& c) {
  for (const char* sub : {"cur", "new"}) {
    fs::path d = folder / sub;
    if (!fs::is_directory(d)) {
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d)) {
      if (e.is_regular_file()) {
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
      std::ifstream in(p, std::ios::binary);
      message_writer w(s);
      if (auto ec = w.begin()) {
        std::cerr << "import: " << ec.message() << "\n";
        ++c.failed;
        continue;
      }
      std::string line;
      while (std::getline(in, line)) {
        (void)w.line(line);
      }
      auto mtime = std::chrono::duration_cast<std::chrono::seconds>(
                       fs::last_write_time(p).time_since_epoch() -
                       (fs::file_time_type::clock::now().time_since_epoch() -
                        std::chrono::system_clock::now().time_since_epoch()))
                       .count();
      store_message(s, account, mailbox, w, flags_from_maildir(p.filename().string()), mtime, c);
    }
  }
}

int do_import(const context& ctx, const std::vector<std::string>& args) {
  std::string account, path, mailbox = "INBOX";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--mailbox" && i + 1 < args.size()) {
      mailbox = args[++i];
    } else if (account.empty()) {
      account = args[i];
    } else if (path.empty()) {
      path = args[i];
    }
  }
  if (account.empty() || path.empty()) {
    std::cerr << "usage: homthuctl import-mail ACCOUNT PATH [--mailbox NAME]\n"
                 "  PATH: an mbox file, a directory of *.mbox files (as export writes), or a Maildir\n";
    return 2;
  }
  return guarded([&] {
    auto s = open_from_config(ctx);
    import_counts c;
    fs::path p(path);
    if (fs::is_regular_file(p)) {
      if (auto ec = ensure_mailbox(*s, account, mailbox)) {
        return fail("import", ec);
      }
      import_mbox(*s, account, mailbox, p, c);
    } else if (fs::is_directory(p / "cur") || fs::is_directory(p / "new")) {
      // Maildir++: the root is INBOX, ".a.b" folders are a/b.
      if (auto ec = ensure_mailbox(*s, account, "INBOX")) {
        return fail("import", ec);
      }
      import_maildir_folder(*s, account, "INBOX", p, c);
      for (const auto& e : fs::directory_iterator(p)) {
        std::string n = e.path().filename().string();
        if (!e.is_directory() || n.size() < 2 || n[0] != '.') {
          continue;
        }
        std::string name = n.substr(1);
        for (auto& ch : name) {
          if (ch == '.') {
            ch = '/';
          }
        }
        if (auto ec = ensure_mailbox(*s, account, name)) {
          std::cerr << "import: mailbox " << name << ": " << ec.message() << "\n";
          ++c.failed;
          continue;
        }
        import_maildir_folder(*s, account, name, e.path(), c);
      }
    } else if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p)) {
        if (!e.is_regular_file() || e.path().extension() != ".mbox") {
          continue;
        }
        std::string name = fs::relative(e.path(), p).replace_extension().generic_string();
        if (auto ec = ensure_mailbox(*s, account, name)) {
          std::cerr << "import: mailbox " << name << ": " << ec.message() << "\n";
          ++c.failed;
          continue;
        }
        import_mbox(*s, account, name, e.path(), c);
      }
    } else {
      std::cerr << "import: " << path << " is neither an mbox file nor a Maildir\n";
      return 1;
    }
    std::cout << "imported " << c.ok << " messages into " << account << (c.failed ? ", " : "")
              << (c.failed ? std::to_string(c.failed) + " failed" : std::string()) << "\n";
    return c.failed ? 1 : 0;
  });
}

int do_fsck(const context& ctx, const std::vector<std::string>& args) {
  bool repair = false;
  for (const auto& a : args) {
    if (a == "--repair") {
      repair = true;
    } else {
      std::cerr << "usage: homthuctl fsck [--repair]\n";
      return 2;
    }
  }
  return guarded([&] {
    auto s = open_from_config(ctx);
    auto r = s->fsck(repair);
    if (!r) {
      return fail("fsck", r.error());
    }
    for (const auto& p : r->problems) {
      std::cout << "problem: " << p << "\n";
    }
    for (const auto& g : r->garbage) {
      std::cout << "garbage: " << g << "\n";
    }
    for (const auto& x : r->repaired) {
      std::cout << "repaired: " << x << "\n";
    }
    std::cout << (r->clean() ? "fsck: clean\n" : "fsck: " + std::to_string(r->problems.size()) + " problems\n");
    return r->clean() ? 0 : 1;
  });
}

int do_gc(const context& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "usage: homthuctl gc\n";
    return 2;
  }
  return guarded([&] {
    auto s = open_from_config(ctx);
    auto r = s->collect_garbage();
    if (!r) {
      return fail("gc", r.error());
    }
    std::cout << "removed " << r->blobs_removed << " blobs (" << r->bytes_freed << " bytes), " << r->temp_removed
              << " temporary files\n";
    if (r->index_entries_left > 0) {
      std::cout << r->index_entries_left << " removed messages could not be read again: their search index entries "
                << "stay (they match no other message)\n";
    }
    return 0;
  });
}

int do_purge(const context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "usage: homthuctl purge ACCOUNT\n";
    return 2;
  }
  return guarded([&] {
    auto s = open_from_config(ctx);
    auto r = s->delete_account(args[0]);
    if (!r) {
      return fail("purge " + args[0], r.error());
    }
    auto g = s->collect_garbage();
    std::cout << "purged " << args[0];
    if (g) {
      std::cout << "; " << g->blobs_removed << " blobs no longer referenced removed";
    }
    std::cout << "\n";
    return 0;
  });
}

}  // namespace

std::vector<command> storage_commands() {
  return {
      {"fsck", "check blob references, counters and database integrity [--repair]", do_fsck},
      {"gc", "remove unreferenced blobs and leftover temporary files", do_gc},
      {"export", "export ACCOUNT --format mbox|maildir --out PATH", do_export},
      {"import-mail", "import-mail ACCOUNT PATH [--mailbox NAME]: mbox file, *.mbox tree or Maildir", do_import},
      {"purge", "purge ACCOUNT: delete all mail of an account", do_purge},
  };
}

}  // namespace homthu::ctl
