#pragma once
// Locating MIME parts inside a stored message for BODY[section] and
// BINARY[section] (RFC 9051 §6.4.5 part numbering), and undoing
// Content-Transfer-Encoding for BINARY (RFC 3516). Sans I/O; works on the
// raw octets. ENVELOPE and BODYSTRUCTURE come from storage's parse at
// delivery; this only finds byte ranges.
//
// Trusts nothing: nesting depth (100) and part count (10000) are bounded
// (S16), and every scan is linear in the message size.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::imap::proto {

struct mime_entity {
  std::size_t header_begin = 0;
  std::size_t body_begin = 0;          // == end of the header block (blank line included)
  std::size_t body_end = 0;
  std::string type = "text";           // lowercased
  std::string subtype = "plain";
  std::string boundary;
  std::string cte;                     // lowercased Content-Transfer-Encoding
  std::vector<mime_entity> children;   // multipart/*
  std::unique_ptr<mime_entity> message;  // message/rfc822: the encapsulated message

  bool multipart() const { return type == "multipart"; }
};

mime_entity parse_mime(std::string_view msg);

// The entity a part path names ("1.2" → {1,2}); nullptr when there is none.
// An empty path is the message itself.
const mime_entity* find_part(const mime_entity& root, std::span<const std::uint32_t> path);

// Decodes base64 / quoted-printable; 7bit, 8bit, binary and absent pass
// through. nullopt for an unknown encoding (RFC 3516 UNKNOWN-CTE).
std::optional<std::string> decode_transfer_encoding(std::string_view body, std::string_view cte);

// The header block restricted to (or without, when `exclude`) the named
// fields, folded lines kept, ending with the blank line (RFC 9051 §6.4.5).
std::string filter_header(std::string_view header, const std::vector<std::string>& upper_fields,
                          bool exclude);

// Offset of the end of the header block (just after the blank line).
std::size_t header_end(std::string_view msg, std::size_t from = 0);

}  // namespace homthu::imap::proto
