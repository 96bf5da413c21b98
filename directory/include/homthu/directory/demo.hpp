#pragma once
// The demo province: Thái Nguyên's real administrative structure (31
// provincial departments and agencies, 9 districts and cities, 180 communes,
// wards and towns) populated with N generated civil servants. Deterministic
// for a given seed, so quickstart, tests and benchmarks agree on who exists.
//
// Naming rules (README.md of this module has the details):
//  - unit id: the Vietnamese name folded to ASCII, lowercased, words joined
//    by '-' ("Sở Nội vụ" → "so-noi-vu", "Xã Tân Cương" → "xa-tan-cuong");
//    a commune whose id is already taken gets "-<district>" appended.
//  - local part: folded given name + initials of the family and middle
//    names ("Nguyễn Văn An" → "annv"); a collision gets 2, 3, … appended.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::directory::demo {

enum class unit_kind { department, district, commune };
std::string_view to_string(unit_kind k);

struct unit {
  std::string id;            // ASCII slug, unique in the province
  std::string name;          // Vietnamese, UTF-8
  unit_kind kind = unit_kind::department;
  std::string parent;        // parent unit id; empty for top-level units
};

struct person {
  std::string address;       // local@domain
  std::string id;            // the local part; LDAP uid
  std::string family, middle, given;
  std::string display_name;  // "Nguyễn Văn An"
  std::string unit;          // unit id
  std::string role;          // empty, "province-admin", "unit-admin", "auditor"
  std::string admin_unit;    // for unit-admin: the unit administered
};

struct options {
  unsigned users = 9000;
  std::uint64_t seed = 1;
  std::string domain = "thainguyen.gov.vn";
  std::string base_dn = "dc=thainguyen,dc=gov,dc=vn";
  std::string password_hash;  // libsodium Argon2id string, shared by every account
  std::uint64_t quota_bytes = 2ull << 30;
};

struct province {
  std::vector<unit> units;      // departments, then each district followed by its communes
  std::vector<person> people;   // the N generated accounts
  std::vector<person> admins;   // admin@, one unit-admin per district, one auditor
};

// The fixed unit tree (independent of the seed).
std::vector<unit> thai_nguyen_units();
province make_province(const options& opt);

// Vietnamese UTF-8 → ASCII: diacritics dropped, đ/Đ → d/D. Other non-ASCII
// code points are dropped.
std::string fold_ascii(std::string_view utf8);
// fold_ascii, lowercased, runs of non-alphanumerics → one '-', trimmed.
std::string slugify(std::string_view utf8);
// "Nguyễn", "Văn Thanh", "An" → "annvt" (before collision numbering).
std::string local_part_for(std::string_view family, std::string_view middle, std::string_view given);

// DN of a unit in the tree under ou=units,<base>.
std::string unit_dn(const province& p, std::string_view unit_id, std::string_view base_dn);

void write_ldif(const province& p, const options& opt, std::ostream& out);
// Header "address\tid\tname\tunit", then one line per generated person.
void write_accounts_tsv(const province& p, std::ostream& out);
// Header "address\tid\tname\tunit\trole\tadmin_unit", then the administrators.
void write_admins_tsv(const province& p, std::ostream& out);

}  // namespace homthu::directory::demo
