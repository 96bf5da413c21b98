// Directory benchmark (issue 3 performance figures) against a running slapd
// loaded with the demo province: start-up, cold and warm recipient
// resolution, authentication cold (one slapd bind, i.e. one Argon2id
// verification) and warm (the verification cache), and what one Argon2id
// hash costs here at the configured cost, alone and on every core (the bound
// on a CSV import's hashing). Prints medians. Not a test: bench/directory/run.sh
// starts slapd and runs it.
//
//   bench_directory --config FILE --accounts accounts.tsv --password-file FILE
//                   [--threads N] [--seconds S] [--auth-accounts K]

#include "homthu/common/config.hpp"
#include "homthu/common/log.hpp"
#include "homthu/directory/ldap_directory.hpp"
#include "homthu/directory/password.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
namespace dir = homthu::directory;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// The q-quantile (0..1) of v, by the nearest-rank method.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size()));
  return v[std::min(i, v.size() - 1)];
}

double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_directory: %s\n", what.c_str());
  std::exit(1);
}

// accounts.tsv of `homthuctl demo ldif`: address, id, name, unit; header first.
std::vector<std::string> read_addresses(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    die("cannot read " + path);
  }
  std::vector<std::string> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (auto tab = line.find('\t'); tab != std::string::npos) {
      out.push_back(line.substr(0, tab));
    }
  }
  return out;
}

// Runs fn(thread, i) on `threads` threads for `seconds`; returns calls/s.
template <class F>
double run_for(unsigned threads, double seconds, F fn) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> calls{0};
  std::vector<std::thread> ts;
  auto t0 = clock_type::now();
  for (unsigned t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::uint64_t n = 0;
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i, ++n) {
        fn(t, i);
      }
      calls += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) {
    t.join();
  }
  return static_cast<double>(calls.load()) / (ms_since(t0) / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, accounts_path, password_file;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  double seconds = 5;
  std::size_t auth_accounts = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    std::string v = argv[i + 1];
    if (a == "--config") {
      config_path = v;
    } else if (a == "--accounts") {
      accounts_path = v;
    } else if (a == "--password-file") {
      password_file = v;
    } else if (a == "--threads") {
      threads = static_cast<unsigned>(std::stoul(v));
    } else if (a == "--seconds") {
      seconds = std::stod(v);
    } else if (a == "--auth-accounts") {
      auth_accounts = std::stoul(v);
    } else {
      die("unknown option " + a);
    }
  }
  if (config_path.empty() || accounts_path.empty() || password_file.empty()) {
    die("usage: bench_directory --config FILE --accounts accounts.tsv --password-file FILE "
        "[--threads N] [--seconds S] [--auth-accounts K]");
  }
  homthu::common::log::set_level(homthu::common::log::level::error);
  auto cfg = homthu::common::load_config(config_path);
  std::string password;
  {
    std::ifstream in(password_file);
    std::getline(in, password);
  }
  auto addresses = read_addresses(accounts_path);
  if (addresses.empty()) {
    die("no accounts in " + accounts_path);
  }
  std::printf("directory bench: %zu accounts, %u threads, argon2 m=%llu KiB t=%llu\n", addresses.size(), threads,
              static_cast<unsigned long long>(cfg.argon2.mem_limit >> 10),
              static_cast<unsigned long long>(cfg.argon2.ops_limit));

  // Start-up: what homthud does before it serves (open the pool, connect,
  // bind) plus the first lookup. Nothing is preloaded, so the number of
  // accounts does not enter; measured anyway against the full directory.
  std::vector<double> opens;
  for (int k = 0; k < 5; ++k) {
    auto t0 = clock_type::now();
    auto d = dir::open_ldap(cfg);
    auto r = d->resolve(addresses[k]);
    opens.push_back(ms_since(t0));
    if (!r) {
      die("resolve " + addresses[k] + ": " + r.error().message());
    }
  }
  std::printf("start-up (open + connect + bind + first lookup): %.1f ms (median of 5)\n", median(opens));

  auto d = dir::open_ldap(cfg);
  // Cold: every address once, from slapd, on all threads.
  {
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> failed{0};
    auto t0 = clock_type::now();
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        for (std::size_t i; (i = next++) < addresses.size();) {
          if (!d->resolve(addresses[i])) {
            ++failed;
          }
        }
      });
    }
    for (auto& t : ts) {
      t.join();
    }
    double ms = ms_since(t0);
    if (failed) {
      die(std::to_string(failed.load()) + " cold lookups failed");
    }
    std::printf("cold resolve of all %zu addresses: %.0f ms (%.0f lookups/s)\n", addresses.size(), ms,
                addresses.size() / (ms / 1000));
  }

  // Warm: random addresses from the cache.
  {
    std::vector<double> rates;
    std::atomic<std::uint64_t> misses{0};
    for (int k = 0; k < 3; ++k) {
      std::vector<std::mt19937_64> rng;
      for (unsigned t = 0; t < threads; ++t) {
        rng.emplace_back(1000 * k + t);
      }
      rates.push_back(run_for(threads, seconds / 3, [&](unsigned t, std::uint64_t) {
        const auto& a = addresses[rng[t]() % addresses.size()];
        if (!d->resolve(a)) {
          ++misses;
        }
      }));
    }
    if (misses) {
      die(std::to_string(misses.load()) + " warm lookups failed");
    }
    std::printf("warm resolve: %.0f lookups/s on %u threads (median of 3; goal >= 50000)\n", median(rates), threads);
  }

  // Authentication. Cold: the first login of each account is a slapd bind
  // (slapd verifies the {ARGON2} hash). Warm: the same logins again.
  auth_accounts = std::min(auth_accounts, addresses.size());
  std::vector<std::string> logins(addresses.begin(), addresses.begin() + static_cast<long>(auth_accounts));
  {
    std::vector<double> cold;
    for (const auto& l : logins) {
      auto t0 = clock_type::now();
      auto r = d->authenticate(l, password, dir::service::imap);
      cold.push_back(ms_since(t0));
      if (!r) {
        die("login " + l + ": " + r.error().message());
      }
    }
    std::printf("auth cold (%zu logins, one at a time): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", cold.size(),
                median(cold), quantile(cold, 0.99), quantile(cold, 1.0));

    std::vector<std::vector<double>> lat(threads);
    std::atomic<std::uint64_t> failed{0};
    double rate = run_for(threads, seconds / 2, [&](unsigned t, std::uint64_t i) {
      const auto& l = logins[(i * threads + t) % logins.size()];
      auto t0 = clock_type::now();
      auto r = d->authenticate(l, password, dir::service::imap);
      lat[t].push_back(ms_since(t0));
      if (!r) {
        ++failed;
      }
    });
    if (failed) {
      die(std::to_string(failed.load()) + " warm logins failed");
    }
    std::vector<double> all;
    for (auto& v : lat) {
      all.insert(all.end(), v.begin(), v.end());
    }
    std::printf("auth warm (%u threads): %.0f logins/s, p50 %.3f ms, p99 %.3f ms (goal p99 <= 5 ms)\n", threads, rate,
                median(all), quantile(all, 0.99));
  }

  // One Argon2id hash and one verification at the configured cost, alone
  // and with every core hashing (what a CSV import's hashing can reach).
  {
    auto h = dir::hash_password(password, cfg.argon2);
    if (!h) {
      die("hash_password: " + h.error().message());
    }
    std::vector<double> hash_ms, verify_ms;
    for (int k = 0; k < 15; ++k) {
      auto t0 = clock_type::now();
      (void)dir::hash_password(password, cfg.argon2);
      hash_ms.push_back(ms_since(t0));
      t0 = clock_type::now();
      if (!dir::verify_password(*h, password)) {
        die("verify_password failed");
      }
      verify_ms.push_back(ms_since(t0));
    }
    std::printf("argon2id alone: hash %.1f ms, verify %.1f ms (median of 15)\n", median(hash_ms), median(verify_ms));
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    std::vector<double> rates;
    for (int k = 0; k < 3; ++k) {
      rates.push_back(run_for(cores, 3, [&](unsigned, std::uint64_t) { (void)dir::hash_password(password, cfg.argon2); }));
    }
    double per_s = median(rates);
    std::printf("argon2id on %u threads: %.1f hashes/s, i.e. %.0f s for 9,000 (median of 3)\n", cores, per_s,
                9000 / per_s);
  }
  return 0;
}
