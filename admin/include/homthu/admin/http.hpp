#pragma once
// The request and response the admin router works on: plain values, so the
// router can be tested and fuzzed without sockets.

#include <map>
#include <string>

namespace homthu::admin {

struct request {
  std::string method;                      // "GET", "POST", …
  std::string target;                      // path and query as sent
  std::string path;                        // decoded path without query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string peer_ip;
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  std::string body;
};

// {"error": message} with the given status.
response json_error(unsigned status, const std::string& message);

}  // namespace homthu::admin
