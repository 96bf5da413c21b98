// Storage benchmark (issue 4 performance targets): disk fsync rate, delivery
// throughput with group commit at 1/10/50/100 concurrent writers, SELECT and FTS
// search on a 100,000-message INBOX, and one message to 9,000 accounts.
// Prints medians. Not a test: run by hand or from bench/run.sh.
//
//   bench_storage [--dir DIR] [--inbox N] [--accounts N] [--seconds S] [--concurrency 1,10,50,100]
//                 [--deliver-only] [--no-fsync]

#include "homthu/storage/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
namespace st = homthu::storage;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

const char* words[] = {"hành", "chính", "công", "văn", "Thái", "Nguyên", "báo", "cáo", "kế", "hoạch", "ủy", "ban",
                       "nhân", "dân", "tỉnh", "huyện", "xã", "phường", "sở", "nội", "vụ", "tài", "chính", "đất",
                       "đai", "giáo", "dục", "y", "tế", "giao", "thông", "họp", "tuần", "tháng", "quyết", "định"};

std::string message_4k(std::mt19937& rng, const std::string& tag) {
  std::string body;
  while (body.size() < 3600) {
    body += words[rng() % std::size(words)];
    body += (body.size() % 70 < 8) ? "\r\n" : " ";
  }
  return "From: Van thu <vanthu@thainguyen.gov.vn>\r\nTo: all@thainguyen.gov.vn\r\nSubject: Cong van " + tag +
         "\r\nDate: Tue, 03 Jun 2025 09:15:00 +0700\r\nMessage-ID: <" + tag +
         "@thainguyen.gov.vn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
}

std::string spool(st::store& s, const std::string& text) {
  auto sp = s.begin_spool();
  if (!sp || !(*sp)->write(text)) {
    std::fprintf(stderr, "spool failed\n");
    std::exit(1);
  }
  auto id = (*sp)->finish();
  if (!id) {
    std::fprintf(stderr, "finish failed: %s\n", id.error().message().c_str());
    std::exit(1);
  }
  return *id;
}

double fsync_rate(const std::string& dir, int n) {
  std::string d = dir + "/fsync";
  std::filesystem::create_directories(d);
  std::string data(4096, 'x');
  auto t0 = clock_type::now();
  for (int i = 0; i < n; ++i) {
    std::string p = d + "/f" + std::to_string(i);
    int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, data.data(), data.size()) < 0 || ::fsync(fd) != 0) {
      std::perror("fsync bench");
      std::exit(1);
    }
    ::close(fd);
    int dfd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY);
    ::fsync(dfd);
    ::close(dfd);
  }
  double secs = ms_since(t0) / 1000.0;
  std::filesystem::remove_all(d);
  return n / secs;
}

struct delivery_figures {
  double per_second;
  double median_latency_ms;
  double median_spool_ms;    // write + finish(): blob fsync, rename, directory fsync
  double median_deliver_ms;  // parse + the writer's group commit (WAL fsync)
};

delivery_figures deliver_rate(st::store& s, int concurrency, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::vector<std::vector<double>> lat(concurrency), spool_lat(concurrency), deliver_lat(concurrency);
  std::vector<std::thread> ts;
  auto t0 = clock_type::now();
  for (int c = 0; c < concurrency; ++c) {
    ts.emplace_back([&, c] {
      std::mt19937 rng(c * 7919 + concurrency);
      for (long i = 0; !stop.load(); ++i) {
        auto start = clock_type::now();
        auto text = message_4k(rng, "c" + std::to_string(concurrency) + "-" + std::to_string(c) + "-" +
                                        std::to_string(i));
        auto spooling = clock_type::now();
        std::string id = spool(s, text);
        spool_lat[c].push_back(ms_since(spooling));
        st::delivery_target t;
        t.account = "bench" + std::to_string(c % 100);
        auto delivering = clock_type::now();
        auto out = s.deliver(id, std::span<const st::delivery_target>(&t, 1), 0);
        deliver_lat[c].push_back(ms_since(delivering));
        if (out[0].ec) {
          std::fprintf(stderr, "deliver failed: %s\n", out[0].ec.message().c_str());
          std::exit(1);
        }
        lat[c].push_back(ms_since(start));
        ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) {
    t.join();
  }
  double secs = ms_since(t0) / 1000.0;
  auto flat = [](const std::vector<std::vector<double>>& vs) {
    std::vector<double> all;
    for (auto& v : vs) {
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  return {done.load() / secs, median(flat(lat)), median(flat(spool_lat)), median(flat(deliver_lat))};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int inbox = 100000;
  int accounts = 9000;
  double seconds = 5;
  bool fsync = true;
  bool deliver_only = false;
  std::vector<int> levels{1, 10, 50, 100};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-fsync") {
      fsync = false;  // to tell CPU cost from disk cost; not a production figure
      continue;
    }
    if (a == "--deliver-only") {
      deliver_only = true;
      continue;
    }
    if (i + 1 >= argc) {
      break;
    }
    if (a == "--dir") {
      dir = argv[i + 1];
    } else if (a == "--inbox") {
      inbox = std::atoi(argv[i + 1]);
    } else if (a == "--accounts") {
      accounts = std::atoi(argv[i + 1]);
    } else if (a == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (a == "--concurrency") {
      levels.clear();
      for (const char* p = argv[i + 1]; *p;) {
        char* end = nullptr;
        long v = std::strtol(p, &end, 10);
        if (end == p || v <= 0) {
          break;
        }
        levels.push_back(static_cast<int>(v));
        p = *end == ',' ? end + 1 : end;
      }
    }
    ++i;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    dir = (std::filesystem::temp_directory_path() / ("homthu-bench-" + std::to_string(::getpid()))).string();
  }
  std::filesystem::create_directories(dir);
  std::printf("storage bench in %s\n", dir.c_str());

  // This machine's virtual disk varies by an order of magnitude from one
  // minute to the next (other tenants), so the fsync rate is measured again
  // around each delivery figure and each ratio is to the rate next to it.
  auto fsync_now = [&] {
    std::vector<double> rates;
    for (int r = 0; r < 3; ++r) {
      rates.push_back(fsync_rate(dir, 100));
    }
    return median(rates);
  };
  double fsync_per_s = fsync_now();
  std::printf("disk fsync rate (4 KB new file + fsync + dir fsync): %.0f /s (median of 3)\n", fsync_per_s);

  {
    st::store_options o;
    o.path = dir + "/deliver";
    o.fsync = fsync;
    auto s = st::open_store(o);
    for (int c : levels) {
      std::vector<double> r, l, sl, dl;
      for (int k = 0; k < 3; ++k) {
        auto f = deliver_rate(*s, c, seconds / 3);
        r.push_back(f.per_second);
        l.push_back(f.median_latency_ms);
        sl.push_back(f.median_spool_ms);
        dl.push_back(f.median_deliver_ms);
      }
      double med = median(r);
      double after = fsync_now();
      double near = (fsync_per_s + after) / 2;
      std::printf("deliver 4 KB, %3d concurrent: %.0f msgs/s (%.1fx the fsync rate of %.0f/s measured around it), "
                  "median latency %.1f ms (spool+fsync %.1f ms, deliver+commit %.1f ms)\n",
                  c, med, med / near, near, median(l), median(sl), median(dl));
      fsync_per_s = after;
    }
  }

  if (deliver_only) {
    std::filesystem::remove_all(dir);
    return 0;
  }
  {
    // Fill without fsync (the fill is not what is measured), then measure
    // with the production settings.
    st::store_options o;
    o.path = dir + "/big";
    o.fsync = false;
    auto fill = std::chrono::steady_clock::now();
    {
      auto s = st::open_store(o);
      std::vector<std::thread> ts;
      std::atomic<int> next{0};
      for (int c = 0; c < 8; ++c) {
        ts.emplace_back([&, c] {
          std::mt19937 rng(c + 1);
          for (int i; (i = next++) < inbox;) {
            std::string id = spool(*s, message_4k(rng, "big-" + std::to_string(i)));
            st::delivery_target t;
            t.account = "big";
            s->deliver(id, std::span<const st::delivery_target>(&t, 1), 0);
          }
        });
      }
      for (auto& t : ts) {
        t.join();
      }
    }
    std::printf("filled INBOX with %d messages in %.1f s\n", inbox, ms_since(fill) / 1000);
    o.fsync = true;
    auto s = st::open_store(o);
    auto stt = s->status("big", "INBOX");
    std::vector<double> sel, fts, fts2;
    std::size_t count = 0, hits = 0, hits2 = 0;
    for (int k = 0; k < 5; ++k) {
      auto t0 = clock_type::now();
      auto msgs = s->messages("big", stt->id);
      sel.push_back(ms_since(t0));
      count = msgs->size();
      t0 = clock_type::now();
      auto r = s->search_text("big", stt->id, st::text_field::text, "hanh chinh thai nguyen");
      fts.push_back(ms_since(t0));
      hits = r->size();
      t0 = clock_type::now();
      auto r2 = s->search_text("big", stt->id, st::text_field::subject, "big-4242");
      fts2.push_back(ms_since(t0));
      hits2 = r2->size();
    }
    std::printf("SELECT %zu-message INBOX (uids+flags): %.0f ms (median of 5)\n", count, median(sel));
    std::printf("FTS search \"hanh chinh thai nguyen\" (%zu hits): %.0f ms; rare subject term (%zu hits): %.1f ms\n",
                hits, median(fts), hits2, median(fts2));
  }

  {
    st::store_options o;
    o.path = dir + "/list";
    auto s = st::open_store(o);
    std::vector<st::delivery_target> targets(accounts);
    for (int i = 0; i < accounts; ++i) {
      targets[i].account = "user" + std::to_string(i);
    }
    std::vector<double> times;
    std::mt19937 rng(99);
    for (int k = 0; k < 4; ++k) {
      auto t0 = clock_type::now();
      std::string id = spool(*s, message_4k(rng, "list-" + std::to_string(k)));
      auto out = s->deliver(id, targets, 0);
      double ms = ms_since(t0);
      for (auto& x : out) {
        if (x.ec) {
          std::fprintf(stderr, "list delivery failed: %s\n", x.ec.message().c_str());
          return 1;
        }
      }
      if (k > 0) {  // the first round also creates the 9,000 accounts
        times.push_back(ms);
      } else {
        std::printf("first list delivery (creates %d accounts and their 6 mailboxes): %.0f ms\n", accounts, ms);
      }
    }
    std::printf("one message to %d accounts (one blob, %d entries): %.0f ms (median of 3)\n", accounts, accounts,
                median(times));
  }
  if (own_dir) {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
