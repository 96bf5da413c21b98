// Fuzzes homthu.toml parsing (common::parse_config): the contract is a
// config or a config_error naming the key; any other exception, a crash or a
// hang is a bug. Also the size and duration value parsers.

#include "fuzz_util.hpp"

#include "homthu/common/config.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    auto c = homthu::common::parse_config(in, "fuzz.toml");
    (void)c.is_local_domain("thainguyen.gov.vn");
  } catch (const homthu::common::config_error& e) {
    homthu::fuzz::check(e.what()[0] != '\0', "config_error without a message");
  }
  std::uint64_t bytes = 0;
  (void)homthu::common::parse_size(in, bytes);
  homthu::common::seconds secs{};
  if (homthu::common::parse_duration(in, secs)) {
    homthu::fuzz::check(secs.count() >= 0, "negative duration");
  }
  return 0;
}
