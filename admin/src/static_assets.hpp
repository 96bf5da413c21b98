#pragma once
// The console's files (admin/web/**), embedded at build time.

#include <span>
#include <string_view>

namespace homthu::admin {

struct web_asset {
  std::string_view path;          // "/index.html", "/js/app.js"
  std::string_view content_type;
  std::string_view data;
  bool immutable = false;         // named after its content: kept for a year
};

std::span<const web_asset> embedded_assets();

}  // namespace homthu::admin
