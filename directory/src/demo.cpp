// The demo province generator: Thái Nguyên's unit tree plus N generated
// people, written as LDIF for slapadd and as TSV for tests and benchmarks.
// Deterministic: the same seed gives byte-identical output on any machine
// (own PRNG use, no std::*_distribution, whose output is unspecified).
#include "homthu/directory/demo.hpp"

#include "demo_data.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace homthu::directory::demo {

namespace {

// Decodes one UTF-8 code point at s[i], advancing i; invalid bytes → U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
  if (n < 0 || i + static_cast<std::size_t>(n) >= s.size() + (n == 0 ? 1 : 0)) {
    ++i;
    return n == 0 ? c : 0xfffd;
  }
  char32_t cp = n == 0 ? c : (c & (0x3f >> n));
  for (int k = 1; k <= n; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) {
      i += static_cast<std::size_t>(k);
      return 0xfffd;
    }
    cp = (cp << 6) | (d & 0x3f);
  }
  i += static_cast<std::size_t>(n) + 1;
  return cp;
}

const std::unordered_map<char32_t, char>& fold_table() {
  static const std::unordered_map<char32_t, char> table = [] {
    // Every precomposed Vietnamese letter, grouped by its base letter.
    const std::pair<std::u32string_view, char> groups[] = {
        {U"àáảãạăằắẳẵặâầấẩẫậ", 'a'}, {U"ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'A'},
        {U"èéẻẽẹêềếểễệ", 'e'},       {U"ÈÉẺẼẸÊỀẾỂỄỆ", 'E'},
        {U"ìíỉĩị", 'i'},             {U"ÌÍỈĨỊ", 'I'},
        {U"òóỏõọôồốổỗộơờớởỡợ", 'o'}, {U"ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'O'},
        {U"ùúủũụưừứửữự", 'u'},       {U"ÙÚỦŨỤƯỪỨỬỮỰ", 'U'},
        {U"ỳýỷỹỵ", 'y'},             {U"ỲÝỶỸỴ", 'Y'},
        {U"đ", 'd'},                 {U"Đ", 'D'},
    };
    std::unordered_map<char32_t, char> t;
    for (const auto& [chars, base] : groups) {
      for (char32_t c : chars) {
        t.emplace(c, base);
      }
    }
    return t;
  }();
  return table;
}

std::string base64(std::string_view s) {
  std::string out(sodium_base64_encoded_len(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// RFC 2849: a value that is not a SAFE-STRING is written base64 ("attr:: …").
void ldif_attr(std::ostream& out, std::string_view name, std::string_view value) {
  bool safe = !value.empty() && value.front() != ' ' && value.front() != ':' &&
              value.front() != '<' && value.back() != ' ';
  for (unsigned char c : value) {
    if (c == 0 || c == '\n' || c == '\r' || c >= 0x80) {
      safe = false;
      break;
    }
  }
  if (safe) {
    out << name << ": " << value << '\n';
  } else {
    out << name << ":: " << base64(value) << '\n';
  }
}

// Uniform in [0, n) without modulo bias, from a generator whose output is
// specified by the standard (mt19937_64), so results do not depend on the
// standard library.
std::uint64_t pick(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    std::uint64_t x = rng();
    if (x < limit) {
      return x % n;
    }
  }
}

std::string_view pick_weighted(std::mt19937_64& rng, const data::weighted* items, unsigned count) {
  std::uint64_t total = 0;
  for (unsigned i = 0; i < count; ++i) {
    total += items[i].weight;
  }
  std::uint64_t r = pick(rng, total);
  for (unsigned i = 0; i < count; ++i) {
    if (r < items[i].weight) {
      return items[i].value;
    }
    r -= items[i].weight;
  }
  return items[count - 1].value;
}

// The first letter of a name, folded and lowercased.
char initial(std::string_view word) {
  auto f = fold_ascii(word);
  return f.empty() ? 'x' : static_cast<char>(std::tolower(static_cast<unsigned char>(f[0])));
}

// Relative share of the accounts each tier gets: a department has about three
// times the staff on mail of a commune, a district office two and a half.
unsigned tier_weight(unit_kind k) {
  switch (k) {
    case unit_kind::department: return 6;
    case unit_kind::district: return 5;
    case unit_kind::commune: return 2;
  }
  return 1;
}

}  // namespace

std::string_view to_string(unit_kind k) {
  switch (k) {
    case unit_kind::department: return "department";
    case unit_kind::district: return "district";
    case unit_kind::commune: return "commune";
  }
  return "department";
}

std::string fold_ascii(std::string_view utf8) {
  const auto& table = fold_table();
  std::string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    char32_t cp = next_code_point(utf8, i);
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (auto it = table.find(cp); it != table.end()) {
      out += it->second;
    }
  }
  return out;
}

std::string slugify(std::string_view utf8) {
  std::string out;
  bool dash = false;
  for (char c : fold_ascii(utf8)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      if (dash && !out.empty()) {
        out += '-';
      }
      dash = false;
      out += static_cast<char>(std::tolower(u));
    } else {
      dash = true;
    }
  }
  return out;
}

std::string local_part_for(std::string_view family, std::string_view middle, std::string_view given) {
  std::string out;
  for (char c : fold_ascii(given)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    }
  }
  out += initial(family);
  std::size_t start = 0;
  while (start < middle.size()) {
    auto end = middle.find(' ', start);
    if (end == std::string_view::npos) {
      end = middle.size();
    }
    if (end > start) {
      out += initial(middle.substr(start, end - start));
    }
    start = end + 1;
  }
  return out;
}

std::vector<unit> thai_nguyen_units() {
  std::vector<unit> units;
  std::set<std::string> taken;
  for (unsigned i = 0; i < data::department_count; ++i) {
    unit u{slugify(data::departments[i]), std::string(data::departments[i]), unit_kind::department, {}};
    taken.insert(u.id);
    units.push_back(std::move(u));
  }
  for (unsigned d = 0; d < data::district_count; ++d) {
    const auto& dist = data::districts[d];
    units.push_back({std::string(dist.id), std::string(dist.name), unit_kind::district, {}});
    taken.insert(std::string(dist.id));
  }
  for (unsigned d = 0; d < data::district_count; ++d) {
    const auto& dist = data::districts[d];
    // The short district name: "tp-pho-yen" → "pho-yen", "huyen-dai-tu" → "dai-tu".
    std::string_view short_id = dist.id.substr(dist.id.find('-') + 1);
    for (unsigned c = 0; c < dist.commune_count; ++c) {
      std::string id = slugify(dist.communes[c]);
      if (taken.count(id) != 0) {
        id += "-" + std::string(short_id);
      }
      if (!taken.insert(id).second) {
        throw std::logic_error("duplicate unit id in the demo data: " + id);
      }
      units.push_back({id, std::string(dist.communes[c]), unit_kind::commune, std::string(dist.id)});
    }
  }
  return units;
}

province make_province(const options& opt) {
  province p;
  p.units = thai_nguyen_units();
  std::mt19937_64 rng(opt.seed);

  std::vector<std::uint64_t> cumulative;
  std::uint64_t total = 0;
  for (const auto& u : p.units) {
    total += tier_weight(u.kind);
    cumulative.push_back(total);
  }
  // Reserved local parts: system addresses and the province-wide list.
  std::set<std::string> used = {"admin", "postmaster", "abuse", "toantinh", "giamsat",
                                "hostmaster", "webmaster", "noreply", "mailer-daemon"};
  for (const auto& u : p.units) {
    used.insert(u.id);
  }
  p.people.reserve(opt.users);
  for (unsigned n = 0; n < opt.users; ++n) {
    bool female = pick(rng, 2) == 0;
    std::string family(pick_weighted(rng, data::family_names, data::family_name_count));
    std::string middle(female ? data::female_middle[pick(rng, data::female_middle_count)]
                              : data::male_middle[pick(rng, data::male_middle_count)]);
    // About one in six carries a second middle name ("Nguyễn Thị Thu Hà").
    if (pick(rng, 6) == 0) {
      std::string second(female ? data::female_middle[pick(rng, data::female_middle_count)]
                                : data::male_middle[pick(rng, data::male_middle_count)]);
      if (second != middle && second != "Thị" && second != "Văn") {
        middle += " " + second;
      }
    }
    std::string given(female ? data::female_given[pick(rng, data::female_given_count)]
                             : data::male_given[pick(rng, data::male_given_count)]);
    // Spread over units in proportion to their tier's weight. A demo with
    // fewer accounts than units takes an even stride through the tree
    // instead, so that even 50 accounts cover departments, districts and
    // communes alike.
    std::size_t unit_index;
    if (opt.users < p.units.size()) {
      unit_index = (static_cast<std::size_t>(n) * p.units.size()) / opt.users;
    } else {
      auto r = pick(rng, total);
      unit_index = static_cast<std::size_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
    }
    std::string base = local_part_for(family, middle, given);
    std::string local = base;
    for (unsigned k = 2; used.count(local) != 0; ++k) {
      local = base + std::to_string(k);
    }
    used.insert(local);
    person who;
    who.id = local;
    who.address = local + "@" + opt.domain;
    who.family = family;
    who.middle = middle;
    who.given = given;
    who.display_name = family + " " + middle + " " + given;
    who.unit = p.units[unit_index].id;
    p.people.push_back(std::move(who));
  }

  person admin;
  admin.id = "admin";
  admin.address = "admin@" + opt.domain;
  admin.family = "Quản trị";
  admin.given = "tỉnh";
  admin.display_name = "Quản trị hệ thống tỉnh";
  admin.unit = "so-thong-tin-va-truyen-thong";
  admin.role = "province-admin";
  p.admins.push_back(admin);
  for (unsigned d = 0; d < data::district_count; ++d) {
    const auto& dist = data::districts[d];
    person a;
    a.id = "qt." + std::string(dist.id);
    a.address = a.id + "@" + opt.domain;
    a.family = "Quản trị";
    a.given = std::string(dist.name);
    a.display_name = "Quản trị " + std::string(dist.name);
    a.unit = std::string(dist.id);
    a.role = "unit-admin";
    a.admin_unit = std::string(dist.id);
    p.admins.push_back(std::move(a));
  }
  person auditor;
  auditor.id = "giamsat";
  auditor.address = "giamsat@" + opt.domain;
  auditor.family = "Thanh tra";
  auditor.given = "Giám sát";
  auditor.display_name = "Giám sát hệ thống thư";
  auditor.unit = "thanh-tra-tinh";
  auditor.role = "auditor";
  p.admins.push_back(auditor);
  return p;
}

std::string unit_dn(const province& p, std::string_view unit_id, std::string_view base_dn) {
  std::string dn;
  std::string_view id = unit_id;
  // Unit ids are ASCII slugs ([a-z0-9-]): nothing to escape in a DN.
  for (int depth = 0; depth < 8 && !id.empty(); ++depth) {
    const unit* found = nullptr;
    for (const auto& u : p.units) {
      if (u.id == id) {
        found = &u;
        break;
      }
    }
    if (found == nullptr) {
      throw std::logic_error("unknown unit id: " + std::string(unit_id));
    }
    dn += "ou=" + found->id + ",";
    id = found->parent;
  }
  return dn + "ou=units," + std::string(base_dn);
}

void write_ldif(const province& p, const options& opt, std::ostream& out) {
  if (opt.password_hash.rfind("$argon2", 0) != 0) {
    throw std::invalid_argument("demo: the password hash must be an Argon2 string");
  }
  std::map<std::string, std::string> dns;
  for (const auto& u : p.units) {
    dns[u.id] = unit_dn(p, u.id, opt.base_dn);
  }
  for (const auto& u : p.units) {
    out << "dn: " << dns[u.id] << '\n'
        << "objectClass: organizationalUnit\nobjectClass: homthuUnit\n"
        << "ou: " << u.id << '\n';
    ldif_attr(out, "displayName", u.name);
    ldif_attr(out, "description", u.name);
    out << "homthuUnitKind: " << to_string(u.kind) << "\n\n";
  }
  std::map<std::string, std::vector<std::string>> members;
  auto write_person = [&](const person& who) {
    std::string dn = "uid=" + who.id + "," + dns[who.unit];
    out << "dn: " << dn << '\n'
        << "objectClass: inetOrgPerson\nobjectClass: homthuMailAccount\n"
        << "uid: " << who.id << '\n';
    ldif_attr(out, "cn", who.display_name);
    ldif_attr(out, "sn", who.family);
    ldif_attr(out, "givenName", who.given);
    ldif_attr(out, "displayName", who.display_name);
    out << "mail: " << who.address << '\n'
        << "homthuMailEnabled: TRUE\n"
        << "homthuQuotaBytes: " << opt.quota_bytes << '\n';
    if (!who.role.empty()) {
      out << "homthuRole: " << who.role << '\n';
    }
    if (!who.admin_unit.empty()) {
      out << "homthuAdminUnit: " << dns[who.admin_unit] << '\n';
    }
    out << "userPassword: {ARGON2}" << opt.password_hash << "\n\n";
    return dn;
  };
  std::vector<std::string> everyone;
  everyone.reserve(p.people.size());
  for (const auto& who : p.people) {
    auto dn = write_person(who);
    members[who.unit].push_back(dn);
    everyone.push_back(std::move(dn));
  }
  for (const auto& who : p.admins) {
    write_person(who);
  }
  auto write_list = [&](const std::string& dn, const std::string& cn, const std::string& name,
                        const std::vector<std::string>& m) {
    out << "dn: " << dn << '\n'
        << "objectClass: groupOfNames\nobjectClass: homthuMailList\n"
        << "cn: " << cn << '\n'
        << "mail: " << cn << "@" << opt.domain << '\n';
    ldif_attr(out, "displayName", name);
    out << "homthuMailEnabled: TRUE\nhomthuListPostPolicy: authenticated\n";
    if (m.empty()) {
      // groupOfNames requires a member; the base DN is homthu's "nobody".
      out << "member: " << opt.base_dn << '\n';
    }
    for (const auto& d : m) {
      out << "member: " << d << '\n';
    }
    out << '\n';
  };
  for (const auto& u : p.units) {
    write_list("cn=" + u.id + "," + dns[u.id], u.id, u.name, members[u.id]);
  }
  write_list("cn=toantinh,ou=lists," + opt.base_dn, "toantinh", "Toàn tỉnh Thái Nguyên", everyone);
}

void write_accounts_tsv(const province& p, std::ostream& out) {
  out << "address\tid\tname\tunit\n";
  for (const auto& who : p.people) {
    out << who.address << '\t' << who.id << '\t' << who.display_name << '\t' << who.unit << '\n';
  }
}

void write_admins_tsv(const province& p, std::ostream& out) {
  out << "address\tid\tname\tunit\trole\tadmin_unit\n";
  for (const auto& who : p.admins) {
    out << who.address << '\t' << who.id << '\t' << who.display_name << '\t' << who.unit << '\t'
        << who.role << '\t' << who.admin_unit << '\n';
  }
}

}  // namespace homthu::directory::demo
