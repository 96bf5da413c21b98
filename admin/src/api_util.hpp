#pragma once
// Pure helpers of the REST API: route patterns, cookies, request-body
// validation with errors that name the field, CSV in and out. No I/O, so
// they are unit-tested directly.

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace homthu::admin {

// "/api/v1/accounts/{id}/password" against a decoded path: the {name}
// segments captured, or nullopt. A captured segment is never empty.
std::optional<std::map<std::string, std::string>> match_route(std::string_view pattern, std::string_view path);

// The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or "".
std::string cookie_value(std::string_view header, std::string_view name);

struct field_error {
  std::string field;    // "name", "quota_bytes", "" for the body as a whole
  std::string message;  // "name: must not be empty"
};

// A JSON object body. Errors: not JSON, not an object, too deep.
std::variant<boost::json::object, field_error> parse_object(std::string_view body);

// Typed field access. Absent optional fields give nullopt; a present field
// of the wrong type or out of bounds is an error naming it.
std::variant<std::optional<std::string>, field_error> get_string(const boost::json::object& o, std::string_view key,
                                                                 std::size_t max_bytes, bool required);
std::variant<std::optional<std::uint64_t>, field_error> get_uint(const boost::json::object& o, std::string_view key);
std::variant<std::optional<bool>, field_error> get_bool(const boost::json::object& o, std::string_view key);
std::variant<std::optional<std::vector<std::string>>, field_error> get_string_list(const boost::json::object& o,
                                                                                   std::string_view key,
                                                                                   std::size_t max_items);
// Rejects members not in `allowed` (a typo must not pass silently).
std::optional<field_error> only_fields(const boost::json::object& o, std::initializer_list<std::string_view> allowed);

// RFC 4180: records of fields; a quoted field may hold commas, quotes ("")
// and line breaks. Error text names the line. At most `max_records`.
struct csv_table {
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> lines;  // physical line where each record starts
};
std::variant<csv_table, std::string> parse_csv(std::string_view text, std::size_t max_records);
// One field quoted when needed; a leading = + @ or tab is prefixed with '
// so that spreadsheets do not run it as a formula.
std::string csv_field(std::string_view s);

// Decimal parameter from a query string, clamped to [lo, hi]; `fallback`
// when absent. nullopt when malformed.
std::optional<std::size_t> query_number(const std::map<std::string, std::string>& q, const std::string& key,
                                        std::size_t fallback, std::size_t lo, std::size_t hi);

// Valid UTF-8 without control characters (C0, DEL).
bool is_clean_text(std::string_view s);

}  // namespace homthu::admin
