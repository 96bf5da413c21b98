// homthuctl import FILE.csv: bulk provisioning. Every row is validated
// before anything is written; passwords are hashed on all cores; re-running
// the same file updates accounts instead of duplicating them.
//
// Trusts nothing in the file: each field is checked (address in a local
// domain, id characters, name UTF-8 without controls, unit exists, quota
// syntax, password policy) and a bad row is reported with its number.
#include "ctl/directory_ctl.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/config.hpp"
#include "homthu/common/log.hpp"
#include "homthu/directory/ldap_directory.hpp"
#include "homthu/directory/ldap_escape.hpp"
#include "homthu/directory/password.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace homthu::ctl::dir {

namespace {

using namespace homthu::directory;

constexpr const char* import_help =
    "usage: homthuctl [--config FILE] import FILE.csv [--dry-run] [--skip-bad] [--result OUT.csv]\n\n"
    "FILE.csv is UTF-8 with a header row naming the columns (any order):\n"
    "  address    the account's address (required)\n"
    "  name       full name, with diacritics (required; \"full name\" also accepted)\n"
    "  unit       unit id, see `homthuctl unit list` (required)\n"
    "  quota      e.g. 2G, 500M, 0 for unlimited (optional)\n"
    "  password   initial password, or \"generate\" or empty for a generated one (optional)\n\n"
    "Every row is checked first; if any is bad, each is reported as \"row N: reason\" and\n"
    "nothing is written, unless --skip-bad. Accounts that exist are updated (name, unit,\n"
    "quota; the password only when the row gives one). Generated passwords are written to\n"
    "OUT.csv (default FILE.result.csv, mode 0600). --dry-run checks and reports only.\n"
    "Exit: 0 ok, 1 bad rows or failed writes, 2 usage, 3 directory unavailable.\n";

// RFC 4180 records; a quoted field may hold commas, quotes ("") and line breaks.
// Returns false at end of input. `line` counts physical lines for reports.
bool read_csv_record(std::istream& in, std::vector<std::string>& fields, std::size_t& line) {
  fields.clear();
  std::string field;
  bool quoted = false, any = false, was_quoted = false;
  char c;
  while (in.get(c)) {
    any = true;
    if (quoted) {
      if (c == '"') {
        if (in.peek() == '"') {
          in.get(c);
          field += '"';
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') {
          ++line;
        }
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      fields.push_back(field);
      field.clear();
      was_quoted = false;
    } else if (c == '\r') {
      continue;
    } else if (c == '\n') {
      ++line;
      fields.push_back(field);
      return true;
    } else {
      field += c;
    }
  }
  if (!any) {
    return false;
  }
  fields.push_back(field);
  return true;
}

std::string trim(std::string s) {
  auto notsp = [](unsigned char c) { return c != ' ' && c != '\t'; };
  while (!s.empty() && !notsp(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  std::size_t i = 0;
  while (i < s.size() && !notsp(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  return s.substr(i);
}

struct row {
  std::size_t number = 0;      // spreadsheet row: the header is row 1
  std::string address;
  std::string name;
  std::string unit;
  std::uint64_t quota = 0;
  bool quota_given = false;
  std::string password;        // explicit or generated
  bool generated = false;
  std::string hash;
};

int run_import(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"result", "as"}, {"dry-run", "skip-bad"});
  if (p.help) {
    std::cout << import_help;
    return exit_ok;
  }
  if (!p.error.empty() || p.positional.size() != 1) {
    std::cerr << "homthuctl import: " << (p.error.empty() ? "needs FILE.csv" : p.error) << "\n" << import_help;
    return exit_usage;
  }
  const std::string file = p.positional[0];
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "homthuctl import: cannot read " << file << "\n";
    return exit_failed;
  }
  common::log::set_level(common::log::level::error);
  common::config cfg;
  try {
    cfg = common::load_config(ctx.config_path);
  } catch (const std::exception& e) {
    std::cerr << "homthuctl import: " << e.what() << "\n";
    return exit_failed;
  }
  auto dir = open_ldap(cfg);
  actor who = p.value("as") ? actor::account(*p.value("as")) : actor::system_actor();

  // Header. A UTF-8 byte order mark (Excel writes one) is skipped.
  if (in.peek() == 0xEF) {
    char bom[3];
    in.read(bom, 3);
    if (std::string(bom, 3) != "\xEF\xBB\xBF") {
      in.seekg(0);
    }
  }
  std::size_t line = 1;
  std::vector<std::string> header;
  if (!read_csv_record(in, header, line)) {
    std::cerr << "homthuctl import: " << file << " is empty\n";
    return exit_failed;
  }
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    auto h = common::to_lower_ascii(trim(header[i]));
    if (h == "full name" || h == "full_name" || h == "display name") {
      h = "name";
    }
    col[h] = i;
  }
  for (const char* required : {"address", "name", "unit"}) {
    if (!col.count(required)) {
      std::cerr << "homthuctl import: the header has no \"" << required << "\" column\n";
      return exit_failed;
    }
  }
  auto units = dir->list_units(who);
  if (!units) {
    std::cerr << "homthuctl import: " << units.error().message() << "\n";
    return units.error() == error::unavailable ? exit_temporary : exit_failed;
  }
  std::set<std::string> unit_ids;
  for (const auto& u : *units) {
    unit_ids.insert(u.id);
  }

  std::vector<row> rows;
  std::vector<std::string> problems;
  std::set<std::string> seen;
  std::vector<std::string> fields;
  std::size_t number = 0;
  while (true) {
    if (!read_csv_record(in, fields, line)) {
      break;
    }
    if (fields.size() == 1 && trim(fields[0]).empty()) {
      continue;  // blank line
    }
    ++number;
    auto get = [&](const char* name) -> std::string {
      auto it = col.find(name);
      return it != col.end() && it->second < fields.size() ? trim(fields[it->second]) : std::string();
    };
    row r;
    // As a spreadsheet numbers it: the header is row 1.
    r.number = number + 1;
    std::string why;
    auto canon = common::canonical_address(get("address"));
    if (!canon) {
      why = "address: not a valid address";
    } else if (!cfg.is_local_domain(canon->substr(canon->rfind('@') + 1))) {
      why = "address: " + *canon + " is not in a local domain";
    } else if (!is_valid_id(canon->substr(0, canon->rfind('@')))) {
      why = "address: the local part must be of a-z 0-9 . _ - starting with a letter or digit";
    } else if (!seen.insert(*canon).second) {
      why = "address: " + *canon + " appears twice in the file";
    }
    if (canon) {
      r.address = *canon;
    }
    r.name = get("name");
    if (why.empty() && (r.name.empty() || r.name.size() > 256 || !is_valid_utf8(r.name))) {
      why = "name: must be 1-256 bytes of UTF-8";
    }
    for (unsigned char c : r.name) {
      if (why.empty() && (c < 0x20 || c == 0x7f)) {
        why = "name: contains control characters";
      }
    }
    r.unit = get("unit");
    if (why.empty() && !unit_ids.count(r.unit)) {
      why = "unit: no such unit \"" + r.unit + "\" (see homthuctl unit list)";
    }
    if (auto q = get("quota"); why.empty() && !q.empty()) {
      if (!common::parse_size(q, r.quota)) {
        why = "quota: not a size: " + q;
      }
      r.quota_given = true;
    }
    auto pw = col.count("password") && col["password"] < fields.size() ? fields[col["password"]] : std::string();
    if (pw.empty() || pw == "generate") {
      r.password = random_password(4);
      r.generated = true;
    } else if (auto problem = password_problem(pw); why.empty() && !problem.empty()) {
      why = "password: " + problem;
    } else {
      r.password = pw;
    }
    if (!why.empty()) {
      problems.push_back("row " + std::to_string(r.number) + ": " + why);
      continue;
    }
    rows.push_back(std::move(r));
  }
  for (const auto& pr : problems) {
    std::cerr << pr << "\n";
  }
  if (!problems.empty() && !p.has("skip-bad")) {
    std::cerr << "homthuctl import: " << problems.size() << " bad row(s); nothing written (--skip-bad to import the rest)\n";
    return exit_failed;
  }

  // Which accounts exist already: one paged listing instead of a read per row.
  auto existing_page = dir->list_accounts(who, {});
  if (!existing_page) {
    std::cerr << "homthuctl import: " << existing_page.error().message() << "\n";
    return existing_page.error() == error::unavailable ? exit_temporary : exit_failed;
  }
  std::map<std::string, account> existing;
  for (auto& a : existing_page->accounts) {
    existing.emplace(a.address, std::move(a));
  }
  std::size_t creates = 0, updates = 0;
  for (const auto& r : rows) {
    (existing.count(r.address) ? updates : creates) += 1;
  }
  if (p.has("dry-run")) {
    std::cout << "dry run: " << rows.size() << " valid row(s): " << creates << " to create, " << updates
              << " to update; " << problems.size() << " bad\n";
    return problems.empty() ? exit_ok : exit_failed;
  }

  // Two stages, so that neither waits for the other. One hashing thread per
  // core (Argon2id is CPU-bound: at m = 19 MiB, t = 2 it is most of the
  // import's work) and [ldap] pool_size writer threads (each row is a few
  // LDAP round trips and one slapd commit: latency-bound, they mostly wait),
  // joined by a queue of hashed rows. While slapd commits one row, the cores
  // hash the next ones.
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::string result_path = p.value("result").value_or(file + ".result.csv");
  std::ofstream result;
  bool any_generated = false;
  for (const auto& r : rows) {
    any_generated = any_generated || (r.generated && !existing.count(r.address));
  }
  if (any_generated) {
    ::umask(077);
    result.open(result_path, std::ios::binary | std::ios::trunc);
    if (!result) {
      std::cerr << "homthuctl import: cannot write " << result_path << "\n";
      return exit_failed;
    }
    result << "address,password\r\n";
  }
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  std::mutex out_mu;
  std::atomic<std::size_t> written{0}, created{0}, updated{0}, failed_rows{0};
  std::atomic<bool> unavailable{false};
  // What the summary reports: where the time went.
  std::atomic<std::int64_t> hash_us{0}, write_us{0}, hashed{0};
  clock::time_point hashing_done{};
  auto us_since = [](clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0).count();
  };

  // An existing account keeps its password unless the row gives one.
  auto needs_hash = [&](const row& r) { return !(r.generated && existing.count(r.address)); };
  auto hash_row = [&](row& r) -> boost::system::error_code {
    auto t0 = clock::now();
    auto h = hash_password(r.password, cfg.argon2);
    hash_us += us_since(t0);
    ++hashed;
    if (!h) {
      return h.error();
    }
    r.hash = *h;
    return {};
  };
  auto write_row = [&](row& r) -> boost::system::error_code {
    auto t0 = clock::now();
    boost::system::error_code ec;
    auto it = existing.find(r.address);
    if (it == existing.end()) {
      new_account a;
      a.address = r.address;
      a.display_name = r.name;
      a.unit = r.unit;
      a.quota_bytes = r.quota;
      a.password_hash = r.hash;
      if (auto c = dir->create_account(who, a); c) {
        ++created;
      } else {
        ec = c.error();
      }
    } else {
      account_changes ch;
      if (it->second.display_name != r.name) {
        ch.display_name = r.name;
      }
      if (r.quota_given && it->second.quota_bytes != r.quota) {
        ch.quota_bytes = r.quota;
      }
      if (ch.display_name || ch.quota_bytes) {
        if (auto m = dir->modify_account(who, r.address, ch); !m) {
          ec = m.error();
        }
      }
      if (!ec && it->second.unit != r.unit) {
        if (auto m = dir->move_account(who, r.address, r.unit); !m) {
          ec = m.error();
        }
      }
      if (!ec && !r.generated) {
        if (auto m = dir->set_password_hash(who, r.address, r.hash); !m) {
          ec = m.error();
        }
      }
      if (!ec) {
        ++updated;
      }
    }
    write_us += us_since(t0);
    return ec;
  };
  auto report = [&](const row& r, boost::system::error_code ec) {
    std::lock_guard lk(out_mu);
    if (ec) {
      ++failed_rows;
      if (ec == error::unavailable) {
        unavailable = true;
      }
      std::cerr << (tty ? "\n" : "") << "row " << r.number << ": " << r.address << ": " << ec.message();
      if (auto detail = last_error_detail(); !detail.empty() && ec != error::unavailable) {
        std::cerr << ": " << detail;
      }
      std::cerr << "\n";
    } else if (r.generated && !existing.count(r.address) && result) {
      result << r.address << "," << r.password << "\r\n";
    }
    ++written;
  };

  // The queue between the stages: indexes of rows ready to write.
  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<std::size_t> ready;
  unsigned hashers_left = 0;
  auto push_ready = [&](std::size_t i) {
    {
      std::lock_guard lk(q_mu);
      ready.push_back(i);
    }
    q_cv.notify_one();
  };
  std::vector<std::thread> hashers, writers;
  {
    // Rows that need no hash go to the writers at once.
    std::vector<std::size_t> to_hash;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (needs_hash(rows[i])) {
        to_hash.push_back(i);
      } else {
        push_ready(i);
      }
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned n_hash = std::min<unsigned>(cores, std::max<std::size_t>(to_hash.size(), 1));
    const unsigned n_write = std::max(1u, cfg.ldap.pool_size);
    hashers_left = n_hash;
    std::atomic<std::size_t> next{0};
    for (unsigned t = 0; t < n_hash; ++t) {
      hashers.emplace_back([&] {
        for (std::size_t k = next++; k < to_hash.size() && !unavailable; k = next++) {
          auto& r = rows[to_hash[k]];
          if (auto ec = hash_row(r)) {
            report(r, ec);
          } else {
            push_ready(to_hash[k]);
          }
        }
        std::lock_guard lk(q_mu);
        if (--hashers_left == 0) {
          hashing_done = clock::now();
          q_cv.notify_all();
        }
      });
    }
    for (unsigned t = 0; t < n_write; ++t) {
      writers.emplace_back([&] {
        while (true) {
          std::size_t i;
          {
            std::unique_lock lk(q_mu);
            q_cv.wait(lk, [&] { return !ready.empty() || hashers_left == 0 || unavailable; });
            if (ready.empty() || unavailable) {
              return;
            }
            i = ready.front();
            ready.pop_front();
          }
          report(rows[i], write_row(rows[i]));
        }
      });
    }
    while (tty && written < rows.size() && !unavailable) {
      {
        std::lock_guard lk(out_mu);
        std::cerr << "\rimporting " << written << "/" << rows.size() << std::flush;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (auto& t : hashers) {
      t.join();
    }
    q_cv.notify_all();  // a hasher may have stopped early on `unavailable`
    for (auto& t : writers) {
      t.join();
    }
    if (tty) {
      std::cerr << "\rimporting " << written << "/" << rows.size() << "\n";
    }
  }
  const double total_s = static_cast<double>(us_since(started)) / 1e6;
  if (unavailable) {
    std::cerr << "homthuctl import: directory unavailable; " << created << " created, " << updated
              << " updated before it went away; re-run the same file to finish\n";
    return exit_temporary;
  }
  std::cout << "import: " << created << " created, " << updated << " updated, " << failed_rows << " failed, "
            << problems.size() << " bad row(s) skipped\n";
  {
    // Where the time went: the hashing stage's wall time against the whole
    // import, and the per-row cost of each stage.
    const double hash_wall =
        hashing_done == clock::time_point{} ? 0.0
                                            : std::chrono::duration<double>(hashing_done - started).count();
    const auto n_hashed = std::max<std::int64_t>(hashed.load(), 1);
    const auto n_written = std::max<std::size_t>(written.load(), 1);
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(1);
    o << "time: " << total_s << " s; hashing " << hashed.load() << " password(s) done after " << hash_wall << " s ("
      << static_cast<double>(hash_us.load()) / 1000.0 / static_cast<double>(n_hashed) << " ms each on "
      << hashers.size() << " thread(s)); directory writes "
      << static_cast<double>(write_us.load()) / 1000.0 / static_cast<double>(n_written) << " ms per row on "
      << writers.size() << " connection(s)\n";
    std::cout << o.str();
  }
  if (any_generated) {
    std::cout << "generated passwords: " << result_path << "\n";
  }
  return failed_rows == 0 && problems.empty() ? exit_ok : exit_failed;
}

}  // namespace

std::vector<command> import_commands() {
  return {{"import", "create or update accounts from a CSV file (import FILE.csv [--dry-run])", run_import}};
}

}  // namespace homthu::ctl::dir
