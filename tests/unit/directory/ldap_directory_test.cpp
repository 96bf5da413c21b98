// The LDAP backend against a real private slapd (packaging/slapd.sh) loaded
// with a small demo province. Skipped when slapd is not installed.
#include "homthu/directory/demo.hpp"
#include "homthu/directory/ldap_directory.hpp"
#include "homthu/directory/password.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace homthu::directory;

const std::string demo_password = "mật-khẩu-demo-1";

std::string slapd_sh() { return std::string(HOMTHU_TEST_DATA) + "/../../packaging/slapd.sh"; }

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class ldap_directory_test : public ::testing::Test {
 protected:
  static inline fs::path dir_;
  static inline std::string uri_;
  static inline demo::province province_;
  static inline bool ready_ = false;

  static void SetUpTestSuite() {
    if (sh("test -x /usr/sbin/slapd") != 0) {
      return;
    }
    char tmpl[] = "/tmp/homthu-dirtest-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    uri_ = "ldap://127.0.0.1:" + std::to_string(free_port());
    demo::options opt;
    opt.users = 40;
    opt.seed = 3;
    homthu::common::argon2_config cost;
    cost.ops_limit = 1;
    cost.mem_limit = 64 * 1024;
    opt.password_hash = hash_password(demo_password, cost).value();
    province_ = demo::make_province(opt);
    {
      std::ofstream out(dir_ / "demo.ldif");
      demo::write_ldif(province_, opt, out);
    }
    auto ldap = (dir_ / "ldap").string();
    ASSERT_EQ(sh(slapd_sh() + " setup " + ldap), 0);
    ASSERT_EQ(sh(slapd_sh() + " load " + ldap + " " + (dir_ / "demo.ldif").string()), 0);
    ASSERT_EQ(sh(slapd_sh() + " start " + ldap + " " + uri_), 0);
    ready_ = true;
  }

  static void TearDownTestSuite() {
    if (!dir_.empty()) {
      sh(slapd_sh() + " stop " + (dir_ / "ldap").string());
      fs::remove_all(dir_);
    }
  }

  static homthu::common::config config(const std::string& uri = uri_) {
    homthu::common::config c;
    c.server.domains = {"thainguyen.gov.vn"};
    c.ldap.uri = uri;
    c.ldap.bind_dn = "cn=homthud,ou=services,dc=thainguyen,dc=gov,dc=vn";
    c.ldap.bind_password_file = (dir_ / "ldap" / "homthu.secret").string();
    c.ldap.pool_size = 3;
    c.ldap.timeout = std::chrono::seconds(2);
    c.argon2.ops_limit = 1;
    c.argon2.mem_limit = 64 * 1024;
    return c;
  }

  void SetUp() override {
    if (!ready_) {
      GTEST_SKIP() << "slapd not available";
    }
    dir = open_ldap(config());
  }

  const demo::person& person_in(std::string_view unit_prefix_or_id) {
    for (const auto& p : province_.people) {
      if (p.unit == unit_prefix_or_id) {
        return p;
      }
    }
    return province_.people.front();
  }

  std::unique_ptr<ldap_directory> dir;
};

TEST_F(ldap_directory_test, authenticates_with_password_and_rejects_wrong_ones) {
  const auto& p = province_.people[0];
  auto ok = dir->authenticate(p.address, demo_password, service::imap);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->acct.address, p.address);
  EXPECT_EQ(ok->acct.display_name, p.display_name);
  EXPECT_EQ(ok->acct.unit, p.unit);
  EXPECT_FALSE(ok->app_password);
  // Login by uid and in upper case works too.
  EXPECT_TRUE(dir->authenticate(p.id, demo_password, service::smtp));
  std::string upper = p.address;
  for (auto& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  EXPECT_TRUE(dir->authenticate(upper, demo_password, service::imap));

  auto bad = dir->authenticate(p.address, demo_password + "x", service::imap);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), error::invalid_credentials);
  auto unknown = dir->authenticate("khongco@thainguyen.gov.vn", demo_password, service::imap);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), error::invalid_credentials);
  auto empty = dir->authenticate(p.address, "", service::imap);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error(), error::invalid_credentials);
}

TEST_F(ldap_directory_test, hostile_logins_fail_safely) {
  const std::string hostile[] = {"*",
                                 "a)(uid=*",
                                 "*)(uid=*",
                                 ")(|(objectClass=*))",
                                 std::string("x\0", 2),
                                 "admin*",
                                 "*@thainguyen.gov.vn",
                                 "\xff\xfe@thainguyen.gov.vn",
                                 std::string(10 * 1024, 'a'),
                                 "admin)(|(uid=*",
                                 "uid=admin,ou=so-thong-tin-va-truyen-thong,ou=units,dc=thainguyen,dc=gov,dc=vn"};
  for (const auto& login : hostile) {
    auto r = dir->authenticate(login, demo_password, service::imap);
    ASSERT_FALSE(r) << login;
    EXPECT_EQ(r.error(), error::invalid_credentials) << login;
    auto f = dir->resolve(login.find('@') == std::string::npos ? login + "@thainguyen.gov.vn" : login);
    ASSERT_FALSE(f) << login;
    EXPECT_EQ(f.error(), error::not_found) << login;
  }
  // The listing search escapes its text: a wildcard finds nothing.
  auto page = dir->list_accounts(actor::system_actor(), {{}, "*)(uid=*", 0, 0});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0u);
}

TEST_F(ldap_directory_test, warm_authentication_is_cached) {
  const auto& p = province_.people[1];
  ASSERT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  // 2,000 LDAP binds would take seconds; cached, they take milliseconds.
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
  EXPECT_GE(dir->statistics().auth_cache_hits, 2000u);
  // The cache never lets a different password in.
  EXPECT_FALSE(dir->authenticate(p.address, demo_password + " ", service::imap));
}

TEST_F(ldap_directory_test, password_change_takes_effect_at_once) {
  const auto& p = province_.people[2];
  ASSERT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  ASSERT_TRUE(dir->set_password(actor::system_actor(), p.address, "mật khẩu mới 2"));
  auto old = dir->authenticate(p.address, demo_password, service::imap);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error(), error::invalid_credentials);
  EXPECT_TRUE(dir->authenticate(p.address, "mật khẩu mới 2", service::imap));
  // Weak passwords are refused with a reason.
  auto weak = dir->set_password(actor::system_actor(), p.address, "short");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error(), error::invalid_argument);
  ASSERT_TRUE(dir->set_password(actor::system_actor(), p.address, demo_password));
}

TEST_F(ldap_directory_test, resolves_accounts_aliases_lists_and_unknowns) {
  const auto& p = province_.people[3];
  auto r = dir->resolve(p.address);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, recipient::kind::account);
  EXPECT_EQ(r->acct.id, p.id);
  EXPECT_EQ(r->acct.quota_bytes, 2ull << 30);

  ASSERT_TRUE(dir->add_alias(actor::system_actor(), p.address, "bidanh.test@thainguyen.gov.vn"));
  auto a = dir->resolve("BiDanh.Test@thainguyen.gov.vn");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->acct.address, p.address);
  // An alias receives mail but is not a login.
  EXPECT_EQ(dir->authenticate("bidanh.test@thainguyen.gov.vn", demo_password, service::imap).error(),
            error::invalid_credentials);
  auto dup = dir->add_alias(actor::system_actor(), province_.people[4].address, "bidanh.test@thainguyen.gov.vn");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), error::exists);
  ASSERT_TRUE(dir->remove_alias(actor::system_actor(), p.address, "bidanh.test@thainguyen.gov.vn"));
  EXPECT_EQ(dir->resolve("bidanh.test@thainguyen.gov.vn").error(), error::not_found);

  auto all = dir->resolve("toantinh@thainguyen.gov.vn");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->type, recipient::kind::list);
  EXPECT_EQ(all->members.size(), province_.people.size());

  auto unit_list = dir->resolve(p.unit + "@thainguyen.gov.vn");
  ASSERT_TRUE(unit_list);
  EXPECT_EQ(unit_list->type, recipient::kind::list);
  EXPECT_NE(std::find(unit_list->members.begin(), unit_list->members.end(), p.address), unit_list->members.end());

  EXPECT_EQ(dir->resolve("khongco@thainguyen.gov.vn").error(), error::not_found);
  EXPECT_EQ(dir->resolve(p.id + "@example.com").error(), error::not_found);
  EXPECT_TRUE(dir->is_local_domain("ThaiNguyen.gov.vn"));
}

TEST_F(ldap_directory_test, disabled_accounts_neither_receive_nor_log_in) {
  const auto& p = province_.people[5];
  ASSERT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  ASSERT_TRUE(dir->set_enabled(actor::system_actor(), p.address, false));
  EXPECT_EQ(dir->authenticate(p.address, demo_password, service::imap).error(), error::disabled);
  EXPECT_EQ(dir->resolve(p.address).error(), error::disabled);
  auto wrong = dir->authenticate(p.address, "not the password", service::imap);
  EXPECT_EQ(wrong.error(), error::invalid_credentials);
  ASSERT_TRUE(dir->set_enabled(actor::system_actor(), p.address, true));
  EXPECT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
}

TEST_F(ldap_directory_test, app_passwords_labelled_smtp_only_and_revocable) {
  const auto& p = province_.people[6];
  auto ap = dir->add_app_password(actor::system_actor(), p.address, "Hệ thống một cửa", true);
  ASSERT_TRUE(ap) << last_error_detail();
  auto ok = dir->authenticate(p.address, ap->password, service::smtp);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->app_password);
  EXPECT_EQ(ok->app_password_label, "Hệ thống một cửa");
  EXPECT_EQ(dir->authenticate(p.address, ap->password, service::imap).error(), error::invalid_credentials);
  auto listed = dir->list_app_passwords(actor::system_actor(), p.address);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].label, "Hệ thống một cửa");
  EXPECT_TRUE((*listed)[0].smtp_only);
  ASSERT_TRUE(dir->revoke_app_password(actor::system_actor(), p.address, ap->info.id));
  EXPECT_EQ(dir->authenticate(p.address, ap->password, service::smtp).error(), error::invalid_credentials);
  // The account's own password still works.
  EXPECT_TRUE(dir->authenticate(p.address, demo_password, service::smtp));
}

TEST_F(ldap_directory_test, roles_limit_what_administrators_touch) {
  auto unit_admin = actor::account("qt.huyen-dai-tu");
  auto who = dir->whoami(unit_admin);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->r, role::unit_admin);
  ASSERT_EQ(who->units.size(), 1u);
  EXPECT_EQ(who->units[0], "huyen-dai-tu");

  // Someone in a provincial department: out of Đại Từ's reach.
  const demo::person* dept = nullptr;
  auto units = demo::thai_nguyen_units();
  for (const auto& p : province_.people) {
    for (const auto& u : units) {
      if (u.id == p.unit && u.kind == demo::unit_kind::department && !dept) {
        dept = &p;
      }
    }
  }
  ASSERT_NE(dept, nullptr);
  auto denied = dir->set_enabled(unit_admin, dept->address, false);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error(), error::denied);
  EXPECT_EQ(dir->list_accounts(unit_admin, {dept->unit, {}, 0, 0}).error(), error::denied);

  // Creating inside a commune of Đại Từ works; inside Võ Nhai it does not.
  auto made = dir->create_account(unit_admin, {"thu.nghiem@thainguyen.gov.vn", "Lường Văn Thử", "xa-la-bang",
                                               0, 0, "mật khẩu đủ dài", {}});
  ASSERT_TRUE(made) << last_error_detail();
  EXPECT_EQ(made->unit, "xa-la-bang");
  auto elsewhere = dir->create_account(unit_admin, {"thu.nghiem2@thainguyen.gov.vn", "Lường Văn Thử", "xa-la-hien",
                                                    0, 0, "mật khẩu đủ dài", {}});
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error(), error::denied);
  auto listed = dir->list_accounts(unit_admin, {});
  ASSERT_TRUE(listed);
  for (const auto& a : listed->accounts) {
    EXPECT_NE(a.address, dept->address);
  }
  EXPECT_TRUE(dir->authenticate("thu.nghiem@thainguyen.gov.vn", "mật khẩu đủ dài", service::imap));
  // Moving it out of the district is refused; deleting it is allowed.
  EXPECT_EQ(dir->move_account(unit_admin, "thu.nghiem@thainguyen.gov.vn", "so-noi-vu").error(), error::denied);
  ASSERT_TRUE(dir->delete_account(unit_admin, "thu.nghiem@thainguyen.gov.vn"));
  EXPECT_EQ(dir->resolve("thu.nghiem@thainguyen.gov.vn").error(), error::not_found);

  // The auditor reads everything and changes nothing.
  auto auditor = actor::account("giamsat");
  auto all = dir->list_accounts(auditor, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, province_.people.size() + province_.admins.size());
  EXPECT_EQ(dir->set_enabled(auditor, dept->address, false).error(), error::denied);
  // An ordinary account administers nothing but may change its own password.
  auto plain = actor::account(province_.people[7].id);
  EXPECT_EQ(dir->set_enabled(plain, province_.people[8].address, false).error(), error::denied);
  EXPECT_EQ(dir->list_accounts(plain, {}).error(), error::denied);
  EXPECT_TRUE(dir->set_password(plain, province_.people[7].address, demo_password));
  EXPECT_EQ(dir->set_password(plain, province_.people[8].address, demo_password).error(), error::denied);
  // Only a province administrator grants roles.
  EXPECT_EQ(dir->set_roles(unit_admin, province_.people[7].address, {role::province_admin}, {}).error(),
            error::denied);
}

TEST_F(ldap_directory_test, lists_create_members_and_refint) {
  auto sys = actor::system_actor();
  auto l = dir->create_list(sys, "nhom.thu@thainguyen.gov.vn", "Nhóm thử", "so-noi-vu", post_policy::members);
  ASSERT_TRUE(l) << last_error_detail();
  EXPECT_TRUE(l->members.empty());
  EXPECT_EQ(dir->resolve("nhom.thu@thainguyen.gov.vn")->members.size(), 0u);
  auto made = dir->create_account(sys, {"tam.thoi@thainguyen.gov.vn", "Hà Thị Tạm", "so-noi-vu", 1000, 0,
                                        "mật khẩu đủ dài", {}});
  ASSERT_TRUE(made);
  ASSERT_TRUE(dir->add_list_member(sys, "nhom.thu@thainguyen.gov.vn", "tam.thoi@thainguyen.gov.vn"));
  ASSERT_TRUE(dir->add_list_member(sys, "nhom.thu@thainguyen.gov.vn", province_.people[9].address));
  EXPECT_EQ(dir->add_list_member(sys, "nhom.thu@thainguyen.gov.vn", province_.people[9].address).error(),
            error::exists);
  auto shown = dir->show_list(sys, "nhom.thu@thainguyen.gov.vn");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->members.size(), 2u);
  EXPECT_EQ(shown->policy, post_policy::members);
  auto r = dir->resolve("nhom.thu@thainguyen.gov.vn");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy, post_policy::members);
  // Deleting an account removes it from lists (refint overlay).
  ASSERT_TRUE(dir->delete_account(sys, "tam.thoi@thainguyen.gov.vn"));
  shown = dir->show_list(sys, "nhom.thu@thainguyen.gov.vn");
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->members, std::vector<std::string>{province_.people[9].address});
  ASSERT_TRUE(dir->remove_list_member(sys, "nhom.thu@thainguyen.gov.vn", province_.people[9].address));
  EXPECT_TRUE(dir->show_list(sys, "nhom.thu@thainguyen.gov.vn")->members.empty());
  ASSERT_TRUE(dir->delete_list(sys, "nhom.thu@thainguyen.gov.vn"));
  EXPECT_EQ(dir->resolve("nhom.thu@thainguyen.gov.vn").error(), error::not_found);
}

// admin/README.md, "Scope rule for members": a unit administrator adds to
// their lists only members and posters from their own units; a province
// administrator adds anyone; removing a member stays open to whoever may
// change the list (someone who moved away must be removable).
TEST_F(ldap_directory_test, list_members_and_posters_stay_within_a_unit_administrators_units) {
  auto sys = actor::system_actor();
  auto unit_admin = actor::account("qt.huyen-dai-tu");  // Đại Từ district
  auto province_admin = actor::account("admin");
  const std::string list = "to.cong.tac.la.bang@thainguyen.gov.vn";
  ASSERT_TRUE(dir->create_list(sys, list, "Tổ công tác La Bằng", "xa-la-bang", post_policy::moderators))
      << last_error_detail();
  auto inside = dir->create_account(sys, {"ma.van.trong@thainguyen.gov.vn", "Ma Văn Trong", "xa-la-bang", 0, 0,
                                          "mật khẩu đủ dài", {}});
  ASSERT_TRUE(inside) << last_error_detail();
  // Someone in a provincial department: outside Đại Từ.
  std::string outside;
  auto units = demo::thai_nguyen_units();
  for (const auto& p : province_.people) {
    for (const auto& u : units) {
      if (u.id == p.unit && u.kind == demo::unit_kind::department && outside.empty()) {
        outside = p.address;
      }
    }
  }
  ASSERT_FALSE(outside.empty());
  auto members = [&] { return dir->show_list(sys, list).value().members; };
  auto posters = [&] { return dir->show_list(sys, list).value().posters; };

  // The unit administrator: their own people yes, anyone else refused and
  // nothing written.
  ASSERT_TRUE(dir->add_list_member(unit_admin, list, inside->address)) << last_error_detail();
  auto refused = dir->add_list_member(unit_admin, list, outside);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), error::denied);
  EXPECT_NE(last_error_detail().find("outside the units"), std::string::npos) << last_error_detail();
  EXPECT_EQ(members(), std::vector<std::string>{inside->address});

  list_changes to_outside;
  to_outside.posters = std::vector<std::string>{inside->address, outside};
  auto refused_poster = dir->modify_list(unit_admin, list, to_outside);
  ASSERT_FALSE(refused_poster);
  EXPECT_EQ(refused_poster.error(), error::denied);
  EXPECT_NE(last_error_detail().find("outside the units"), std::string::npos) << last_error_detail();
  EXPECT_TRUE(posters().empty());
  list_changes to_inside;
  to_inside.posters = std::vector<std::string>{inside->address};
  ASSERT_TRUE(dir->modify_list(unit_admin, list, to_inside)) << last_error_detail();
  EXPECT_EQ(posters(), std::vector<std::string>{inside->address});

  // The province administrator adds anyone, as member and as poster.
  ASSERT_TRUE(dir->add_list_member(province_admin, list, outside)) << last_error_detail();
  EXPECT_EQ(members().size(), 2u);
  ASSERT_TRUE(dir->modify_list(province_admin, list, to_outside)) << last_error_detail();
  EXPECT_EQ(posters().size(), 2u);

  // Removing stays open: the unit administrator takes the outsider off.
  ASSERT_TRUE(dir->remove_list_member(unit_admin, list, outside)) << last_error_detail();
  EXPECT_EQ(members(), std::vector<std::string>{inside->address});

  ASSERT_TRUE(dir->delete_list(sys, list));
  ASSERT_TRUE(dir->delete_account(sys, inside->address));
}

TEST_F(ldap_directory_test, units_with_counts) {
  auto units = dir->list_units(actor::system_actor());
  ASSERT_TRUE(units);
  EXPECT_EQ(units->size(), 220u);
  std::uint64_t total = 0;
  bool found = false;
  for (const auto& u : *units) {
    total += u.accounts;
    if (u.id == "xa-tan-cuong") {
      found = true;
      EXPECT_EQ(u.name, "Xã Tân Cương");
      EXPECT_EQ(u.parent, "tp-thai-nguyen");
      EXPECT_EQ(u.kind, "commune");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(total, province_.people.size() + province_.admins.size());
}

TEST_F(ldap_directory_test, starts_and_answers_unavailable_when_slapd_is_down) {
  auto cfg = config("ldap://127.0.0.1:" + std::to_string(free_port()));
  std::unique_ptr<ldap_directory> down;
  ASSERT_NO_THROW(down = open_ldap(cfg));
  EXPECT_FALSE(down->connected());
  EXPECT_EQ(down->resolve(province_.people[0].address).error(), error::unavailable);
  EXPECT_EQ(down->authenticate(province_.people[0].address, demo_password, service::imap).error(),
            error::unavailable);
  EXPECT_EQ(down->find_account("khongco").error(), error::unavailable);
}

// Last: stops and restarts the shared slapd.
TEST_F(ldap_directory_test, outage_serves_cache_and_recovers) {
  const auto& p = province_.people[10];
  ASSERT_TRUE(dir->resolve(p.address));
  ASSERT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  auto ldap = (dir_ / "ldap").string();
  ASSERT_EQ(sh(slapd_sh() + " stop " + ldap), 0);

  EXPECT_TRUE(dir->resolve(p.address));
  EXPECT_TRUE(dir->authenticate(p.address, demo_password, service::imap));
  auto unknown = dir->resolve("chua.tung.hoi@thainguyen.gov.vn");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), error::unavailable);
  auto other = dir->authenticate(province_.people[11].address, demo_password, service::imap);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), error::unavailable);
  EXPECT_EQ(dir->set_enabled(actor::system_actor(), p.address, false).error(), error::unavailable);

  ASSERT_EQ(sh(slapd_sh() + " start " + ldap + " " + uri_), 0);
  // Recovery is automatic; the reconnect back-off is half a second.
  bool back = false;
  for (int i = 0; i < 50 && !back; ++i) {
    back = dir->authenticate(province_.people[11].address, demo_password, service::imap).has_value();
    if (!back) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(dir->resolve("chua.tung.hoi@thainguyen.gov.vn").error(), error::not_found);
}

}  // namespace
