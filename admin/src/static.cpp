// The console's static files: from the copy built into the binary, or from
// admin.static_dir when set (for working on the pages without rebuilding).
// Only names in the embedded table, or plain relative names without "..",
// are served; everything gets the server's CSP (no inline script).
#include "routes.hpp"
#include "static_assets.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace homthu::admin {

std::optional<response> static_file(const common::config& cfg, std::string_view path) {
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
  r.body = std::string(found->data);
  return r;
}

}  // namespace homthu::admin
