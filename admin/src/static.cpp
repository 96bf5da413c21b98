// The console's static files: from the copy built into the binary, or from
// admin.static_dir when set (for working on the pages without rebuilding).
// Only names in the embedded table, or plain relative names without "..",
// are served; everything gets the server's CSP (no inline script).
// Embedded files carry an ETag (a hash of their content) and "no-cache":
// the browser keeps them and asks again each time, and gets 304 with no body
// while the binary is the same, so an upgrade is seen at once. The bundle
// and the style sheet index.html loads are named after their content
// (cmake/embed_web.cmake): those are kept for a year without asking again.
#include "routes.hpp"
#include "static_assets.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace homthu::admin {
namespace {

// FNV-1a, 64 bits: a version tag, not a security check.
std::string etag_of(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h = (h ^ c) * 0x100000001b3ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

// True when an If-None-Match value names `tag` (it may be a list, or "*").
bool matches(std::string_view if_none_match, std::string_view tag) {
  return if_none_match.find('*') != std::string_view::npos || if_none_match.find(tag) != std::string_view::npos;
}

}  // namespace

std::optional<response> static_file(const common::config& cfg, std::string_view path,
                                    std::string_view if_none_match) {
  std::string p(path);
  if (p == "/" || p.empty()) {
    p = "/index.html";
  }
  const web_asset* found = nullptr;
  for (const auto& a : embedded_assets()) {
    if (a.path == p) {
      found = &a;
      break;
    }
  }
  if (!found) {
    return std::nullopt;
  }
  response r;
  r.content_type = std::string(found->content_type);
  if (!cfg.admin.static_dir.empty() && p.find("..") == std::string::npos) {
    std::ifstream in(std::filesystem::path(cfg.admin.static_dir) / p.substr(1), std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      r.body = ss.str();
      return r;
    }
  }
  static const std::vector<std::string> tags = [] {
    std::vector<std::string> t;
    for (const auto& a : embedded_assets()) {
      t.push_back(etag_of(a.data));
    }
    return t;
  }();
  const auto& tag = tags[static_cast<std::size_t>(found - embedded_assets().data())];
  r.headers["ETag"] = tag;
  r.headers["Cache-Control"] = found->immutable ? "public, max-age=31536000, immutable" : "no-cache";
  if (!if_none_match.empty() && matches(if_none_match, tag)) {
    r.status = 304;
    return r;
  }
  r.body = std::string(found->data);
  return r;
}

}  // namespace homthu::admin
