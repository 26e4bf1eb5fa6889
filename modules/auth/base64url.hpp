#pragma once

// Base64url without padding (RFC 4648 section 5, RFC 7515 section 2): the
// encoding of every part of a JWS, of JWK coordinates, of PKCE challenges
// and of the random tokens the authorization server hands out.

#include <optional>
#include <string>
#include <string_view>

namespace sb::auth {

/// The base64url text of `bytes`, without `=` padding.
std::string base64url_encode(std::string_view bytes);

/// The bytes that `text` encodes, or nothing if `text` is not the canonical
/// unpadded base64url of some bytes: it holds `=` or a character outside
/// `[A-Za-z0-9_-]`, its length leaves 1 character over a multiple of 4, or
/// its last character carries bits that no encoder would set. Each byte
/// string thus has exactly one accepted text, so a changed character in a
/// signature or a token never decodes to the same bytes. No input makes it
/// throw.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace sb::auth
