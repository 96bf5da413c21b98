// Bulk import from the console: upload a CSV (the columns of `homthuctl
// import`: address, name, unit, quota, password), get a report per row,
// confirm, watch progress, download the result with the passwords
// generated. Nothing is written before the confirmation; rows that failed
// validation are skipped then. Jobs live in memory for an hour and are seen
// only by the account that uploaded them, since the result holds passwords.
#include "api.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/config.hpp"
#include "homthu/common/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <set>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t max_rows = 5000;
constexpr auto job_lifetime = std::chrono::hours(1);

json::object row_json(const import_row& r) {
  json::object o;
  o["row"] = r.row;
  o["line"] = r.line;
  o["address"] = r.address;
  o["name"] = r.name;
  o["unit"] = r.unit;
  o["quota_bytes"] = r.quota_bytes;
  o["status"] = r.status;
  if (!r.error.empty()) {
    o["error"] = r.error;
  }
  return o;
}

json::object job_json(import_job& j, bool with_rows) {
  json::object o;
  o["id"] = j.id;
  o["state"] = j.state;
  o["total"] = j.rows.size();
  std::size_t valid = 0;
  for (const auto& r : j.rows) {
    valid += r.status != "invalid";
  }
  o["valid"] = valid;
  o["invalid"] = j.rows.size() - valid;
  o["processed"] = j.processed;
  o["created"] = j.created_n;
  o["failed"] = j.failed_n;
  if (with_rows) {
    json::array a;
    for (const auto& r : j.rows) {
      a.push_back(row_json(r));
    }
    o["rows"] = std::move(a);
  }
  return o;
}

std::shared_ptr<import_job> find_job(call& c) {
  std::lock_guard lock(c.st.imports_mu);
  auto it = c.st.imports.find(c.params.at("id"));
  if (it == c.st.imports.end() || it->second->owner != c.who.account_id) {
    return nullptr;
  }
  return it->second;
}

// The unit ids a caller may provision into: every unit for province-wide
// roles, else the named units and everything below them.
std::set<std::string> writable_units(const principal& who, const std::vector<directory::unit_info>& units) {
  std::set<std::string> out;
  std::map<std::string, std::string> parent;
  for (const auto& u : units) {
    parent[u.id] = u.parent;
  }
  for (const auto& u : units) {
    if (who.units.empty()) {
      out.insert(u.id);
      continue;
    }
    std::string p = u.id;
    for (int depth = 0; !p.empty() && depth < 16; ++depth) {
      if (std::find(who.units.begin(), who.units.end(), p) != who.units.end()) {
        out.insert(u.id);
        break;
      }
      p = parent.count(p) ? parent[p] : std::string{};
    }
  }
  return out;
}

// Parameters are a reference and a raw pointer on purpose (see run_dir in
// api.hpp); the job stays alive in st.imports while it runs.
asio::awaitable<void> run_import(admin_state& st, import_job* job) {
  auto* d = st.dir_admin;
  const auto& actor = job->actor;
  const auto& client = job->client;
  for (std::size_t i = 0; i < job->rows.size(); ++i) {
    import_row row;
    {
      std::lock_guard lock(job->mu);
      row = job->rows[i];
    }
    if (row.status != "valid") {
      continue;
    }
    directory::new_account na;
    na.address = row.address;
    na.display_name = row.name;
    na.unit = row.unit;
    na.quota_bytes = row.quota_bytes;
    na.password = row.password.empty() ? directory::random_password() : row.password;
    auto r = co_await st.svc.workers.run([d, &actor, &na] {
      auto res = d->create_account(actor, na);
      return std::make_pair(res.has_value(), res ? std::string{} : directory::last_error_detail().empty()
                                                                     ? res.error().message()
                                                                     : directory::last_error_detail());
    });
    storage::audit_record a;
    a.time_ms = now_ms();
    a.actor = actor.account_id;
    a.action = "account.create";
    a.target = na.address;
    a.client = client;
    a.outcome = r.first ? "ok" : "failed";
    json::object detail;
    detail["import"] = job->id;
    detail["row"] = row.row;
    detail["unit"] = na.unit;
    if (!r.first) {
      detail["error"] = r.second;
    }
    a.detail = json::serialize(detail);
    co_await st.svc.workers.run([&st, &a] { return st.records->append(a); });
    std::lock_guard lock(job->mu);
    auto& out = job->rows[i];
    ++job->processed;
    if (r.first) {
      out.status = "created";
      out.result_password = na.password;
      ++job->created_n;
    } else {
      out.status = "failed";
      out.error = r.second;
      ++job->failed_n;
    }
  }
  st.accounts.clear();
  std::lock_guard lock(job->mu);
  job->state = "done";
  common::log::info("admin.import_done",
                    {{"import", job->id}, {"created", job->created_n}, {"failed", job->failed_n}});
}

}  // namespace

asio::awaitable<response> import_create(call& c) {
  if (c.who.role == "auditor" || c.who.role == "none") {
    co_return json_error(403, "your role is read-only");
  }
  auto parsed = parse_csv(c.req.body, max_rows + 1);
  if (auto* e = std::get_if<std::string>(&parsed)) {
    co_return field_reply({"file", "file: " + *e});
  }
  auto& table = std::get<csv_table>(parsed);
  if (table.records.size() < 2) {
    co_return field_reply({"file", "file: a header row and at least one account are needed"});
  }
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < table.records[0].size(); ++i) {
    auto h = common::to_lower_ascii(table.records[0][i]);
    while (!h.empty() && h.back() == ' ') {
      h.pop_back();
    }
    if (h == "full name") {
      h = "name";
    }
    col[h] = i;
  }
  for (const char* need : {"address", "name", "unit"}) {
    if (!col.count(need)) {
      co_return field_reply({"file", std::string("file: the header has no \"") + need + "\" column"});
    }
  }
  auto* d = c.st.dir_admin;
  auto units = co_await run_dir(c, [d, &a = c.actor] { return d->list_units(a); });
  if (!units.r) {
    co_return dir_error_reply(units.r.error(), units.detail);
  }
  auto allowed = writable_units(c.who, *units.r);
  std::set<std::string> known;
  for (const auto& u : *units.r) {
    known.insert(u.id);
  }
  auto job = std::make_shared<import_job>();
  job->id = random_token(12);
  job->owner = c.who.account_id;
  job->created = clock_type::now();
  std::set<std::string> seen;
  auto cell = [&](const std::vector<std::string>& rec, const char* name) -> std::string {
    auto it = col.find(name);
    if (it == col.end() || it->second >= rec.size()) {
      return {};
    }
    auto v = rec[it->second];
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
      v.pop_back();
    }
    std::size_t s = 0;
    while (s < v.size() && (v[s] == ' ' || v[s] == '\t')) {
      ++s;
    }
    return v.substr(s);
  };
  const auto& cfg = c.st.svc.cfg;
  for (std::size_t i = 1; i < table.records.size(); ++i) {
    const auto& rec = table.records[i];
    import_row row;
    row.row = i;
    row.line = table.lines[i];
    std::string addr = cell(rec, "address");
    if (addr.find('@') == std::string::npos && !addr.empty()) {
      addr += "@" + cfg.server.domains.front();
    }
    auto canon = common::canonical_address(addr);
    row.address = canon ? *canon : addr;
    row.name = cell(rec, "name");
    row.unit = cell(rec, "unit");
    std::string quota = cell(rec, "quota");
    std::string pw = cell(rec, "password");
    auto bad = [&](std::string why) {
      if (row.error.empty()) {
        row.error = std::move(why);
      }
    };
    auto parts = canon ? common::split_address(*canon) : std::nullopt;
    if (!canon || !parts) {
      bad("address: not a valid address");
    } else if (!cfg.is_local_domain(parts->domain)) {
      bad("address: not in a local domain");
    } else if (!seen.insert(*canon).second) {
      bad("address: appears twice in the file");
    }
    if (row.name.empty() || row.name.size() > 256 || !is_clean_text(row.name)) {
      bad("name: must be 1-256 bytes of text");
    }
    if (!known.count(row.unit)) {
      bad("unit: no such unit");
    } else if (!allowed.count(row.unit)) {
      bad("unit: outside the units you manage");
    }
    if (!quota.empty() && !common::parse_size(quota, row.quota_bytes)) {
      bad("quota: not a size (e.g. 2G, 500M, 0)");
    }
    if (!pw.empty() && pw != "generate") {
      if (auto why = directory::password_problem(pw); !why.empty()) {
        bad("password: " + why);
      } else {
        row.password = pw;
      }
    }
    row.status = row.error.empty() ? "valid" : "invalid";
    job->rows.push_back(std::move(row));
  }
  // Existing addresses are refused here; updating accounts in bulk is
  // homthuctl import's job.
  auto& st = c.st;
  std::vector<std::string> to_check;
  for (const auto& r : job->rows) {
    if (r.status == "valid") {
      to_check.push_back(r.address);
    }
  }
  auto exists = co_await st.svc.workers.run([&st, &to_check] {
    std::set<std::string> out;
    bool unavailable = false;
    for (const auto& a : to_check) {
      auto r = st.svc.dir.find_account(a);
      if (r) {
        out.insert(a);
      } else if (r.error() == directory::error::unavailable) {
        unavailable = true;
        break;
      }
    }
    return std::make_pair(out, unavailable);
  });
  if (exists.second) {
    co_return json_error(503, "directory unavailable, try again");
  }
  for (auto& r : job->rows) {
    if (r.status == "valid" && exists.first.count(r.address)) {
      r.status = "invalid";
      r.error = "address: already exists";
    }
  }
  c.audit_target = job->id;
  c.audit_detail["rows"] = job->rows.size();
  json::object o;
  {
    std::lock_guard lock(st.imports_mu);
    auto now = clock_type::now();
    for (auto it = st.imports.begin(); it != st.imports.end();) {
      bool running;
      {
        std::lock_guard jl(it->second->mu);
        running = it->second->state == "running";
      }
      it = now - it->second->created > job_lifetime && !running ? st.imports.erase(it) : std::next(it);
    }
    st.imports[job->id] = job;
  }
  std::lock_guard lock(job->mu);
  co_return json_reply(job_json(*job, true), 201);
}

asio::awaitable<response> import_get(call& c) {
  auto job = find_job(c);
  if (!job) {
    co_return json_error(404, "no such import");
  }
  std::lock_guard lock(job->mu);
  co_return json_reply(job_json(*job, true));
}

asio::awaitable<response> import_confirm(call& c) {
  auto job = find_job(c);
  c.audit_target = c.params.at("id");
  if (!job) {
    co_return json_error(404, "no such import");
  }
  {
    std::lock_guard lock(job->mu);
    if (job->state != "validated") {
      co_return json_error(409, "this import was already confirmed");
    }
    bool any = false;
    for (const auto& r : job->rows) {
      any = any || r.status == "valid";
    }
    if (!any) {
      co_return json_error(409, "no valid row to import");
    }
    job->state = "running";
  }
  auto ex = co_await asio::this_coro::executor;
  job->actor = c.actor;
  job->client = c.req.peer_ip;
  asio::co_spawn(ex, run_import(c.st, job.get()), asio::detached);
  std::lock_guard lock(job->mu);
  co_return json_reply(job_json(*job, false), 202);
}

asio::awaitable<response> import_result(call& c) {
  auto job = find_job(c);
  if (!job) {
    co_return json_error(404, "no such import");
  }
  std::lock_guard lock(job->mu);
  if (job->state != "done") {
    co_return json_error(409, "the import has not finished");
  }
  std::string out = "row,address,name,unit,status,password,error\r\n";
  for (const auto& r : job->rows) {
    out += std::to_string(r.row) + "," + csv_field(r.address) + "," + csv_field(r.name) + "," + csv_field(r.unit) +
           "," + r.status + "," + csv_field(r.result_password) + "," + csv_field(r.error) + "\r\n";
  }
  job->result_taken = true;
  response res;
  res.content_type = "text/csv; charset=utf-8";
  res.headers["Content-Disposition"] = "attachment; filename=\"import-" + job->id + ".csv\"";
  res.body = std::move(out);
  co_return res;
}

}  // namespace homthu::admin
