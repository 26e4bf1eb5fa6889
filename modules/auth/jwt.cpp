#include "modules/auth/jwt.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "actors/ascii.hpp"
#include "modules/auth/base64url.hpp"

namespace sb::auth {

namespace {

using json = nlohmann::ordered_json;

constexpr auto int64_max = std::numeric_limits<int64_t>::max();
constexpr auto int64_min = std::numeric_limits<int64_t>::min();

/// Length of an RFC 7638 thumbprint: base64url of 32 bytes.
constexpr size_t thumbprint_chars = 43;

jwt_result fail(jwt_error error, std::string message) {
  jwt_result result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

/// `text` parsed as JSON, or a discarded value if it is not JSON or nests
/// deeper than `max_jwt_depth`. Never throws.
json parse_limited(std::string_view text) {
  bool too_deep = false;
  // The callback sees how many containers enclose a new one.
  auto callback = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start ||
         event == json::parse_event_t::array_start) &&
        static_cast<size_t>(depth) >= max_jwt_depth)
      too_deep = true;
    return !too_deep;
  };
  auto result = json::parse(text, callback, false);
  if (too_deep)
    return json::value_t::discarded;
  return result;
}

/// How deep `x` nests, counting up to `max_jwt_depth + 1` only.
size_t depth_of(const json& x, size_t level = 0) {
  if (!x.is_structured())
    return level;
  if (level > max_jwt_depth)
    return level;
  auto deepest = level + 1;
  for (auto& item : x)
    deepest = std::max(deepest, depth_of(item, level + 1));
  return deepest;
}

/// Whether `typ` names the media type `expected`: without case, and with
/// or without the "application/" prefix (RFC 7515 section 4.1.9).
bool same_type(std::string_view typ, std::string_view expected) {
  auto a = ascii_lowered(typ);
  auto b = ascii_lowered(expected);
  constexpr std::string_view prefix = "application/";
  auto strip = [&](std::string& x) {
    if (x.compare(0, prefix.size(), prefix) == 0)
      x.erase(0, prefix.size());
  };
  strip(a);
  strip(b);
  return a == b;
}

/// `a + b` for `b >= 0`, held at the largest value instead of overflowing.
int64_t saturating_add(int64_t a, int64_t b) {
  return a > int64_max - b ? int64_max : a + b;
}

enum class claim_state { absent, invalid, present };

/// Reads the NumericDate `name` into `out`, in whole seconds: fractions
/// round down, and values beyond 64 bits are held at the limits.
claim_state numeric_date(const json& claims, const char* name, int64_t& out) {
  auto i = claims.find(name);
  if (i == claims.end())
    return claim_state::absent;
  if (i->is_number_unsigned()) {
    auto value = i->get<uint64_t>();
    out = value > static_cast<uint64_t>(int64_max)
            ? int64_max
            : static_cast<int64_t>(value);
  } else if (i->is_number_integer()) {
    out = i->get<int64_t>();
  } else if (i->is_number_float()) {
    auto value = std::floor(i->get<double>());
    if (!std::isfinite(value))
      return claim_state::invalid;
    // 2^63 as a double; anything at or above it is out of range.
    constexpr double limit = 9223372036854775808.0;
    out = value >= limit   ? int64_max
          : value < -limit ? int64_min
                           : static_cast<int64_t>(value);
  } else {
    return claim_state::invalid;
  }
  return claim_state::present;
}

/// The steps after the signature holds: the claims against `expect`.
jwt_result check_claims(json claims, const jwt_expectations& expect,
                        int64_t leeway) {
  if (!claims.is_object())
    return fail(jwt_error::invalid_claims, "the claims are not a JSON object");

  // Time: exp is required; nbf and iat are checked when present.
  int64_t exp = 0;
  switch (numeric_date(claims, "exp", exp)) {
  case claim_state::absent:
    return fail(jwt_error::invalid_claims, "the token has no exp");
  case claim_state::invalid:
    return fail(jwt_error::invalid_claims, "exp is not a number");
  case claim_state::present:
    break;
  }
  if (expect.now >= saturating_add(exp, leeway))
    return fail(jwt_error::expired,
                "the token expired at " + std::to_string(exp));
  auto latest_start = saturating_add(expect.now, leeway);
  for (auto name : {"nbf", "iat"}) {
    int64_t value = 0;
    auto state = numeric_date(claims, name, value);
    if (state == claim_state::invalid)
      return fail(jwt_error::invalid_claims,
                  std::string{name} + " is not a number");
    if (state == claim_state::present && value > latest_start)
      return fail(jwt_error::not_yet_valid, std::string{name} + " is " +
                                              std::to_string(value) +
                                              ", in the future");
  }

  // Who issued the token, and for whom.
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() ||
      iss->get_ref<const std::string&>() != expect.issuer)
    return fail(jwt_error::wrong_issuer, "the token's iss is not the issuer");
  auto aud = claims.find("aud");
  if (aud == claims.end())
    return fail(jwt_error::wrong_audience, "the token has no aud");
  bool for_us = false;
  if (aud->is_string()) {
    for_us = aud->get_ref<const std::string&>() == expect.audience;
  } else if (aud->is_array()) {
    for (auto& item : *aud) {
      if (!item.is_string())
        return fail(jwt_error::invalid_claims,
                    "aud holds something else than strings");
      for_us = for_us || item.get_ref<const std::string&>() == expect.audience;
    }
  } else {
    return fail(jwt_error::invalid_claims,
                "aud is neither a string nor an array");
  }
  if (!for_us)
    return fail(jwt_error::wrong_audience,
                "the token's aud does not name this audience");

  jwt_result result;
  result.claims = std::move(claims);
  return result;
}

/// The checks of `verify_jwt`, which may throw on a lack of memory.
jwt_result verify(std::string_view token, const key_lookup& keys,
                  const jwt_expectations& expect) {
  if (expect.issuer.empty() || expect.audience.empty() || expect.now < 0)
    return fail(jwt_error::bad_expectations,
                "the verifier needs an issuer, an audience and the time");
  auto leeway = std::max<int64_t>(expect.leeway, 0);

  // Form: three base64url parts, the header a JSON object.
  if (token.size() > max_jwt_bytes)
    return fail(jwt_error::too_large, "the token is longer than " +
                                        std::to_string(max_jwt_bytes) +
                                        " bytes");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos)
    return fail(jwt_error::malformed, "a JWT has three parts");
  auto signing_input = token.substr(0, dot2);
  auto header_text = base64url_decode(token.substr(0, dot1));
  if (!header_text)
    return fail(jwt_error::malformed, "the header is not base64url");
  auto header = parse_limited(*header_text);
  if (!header.is_object())
    return fail(jwt_error::malformed,
                "the header is not a JSON object or nests too deep");

  // Header: ES256 alone, no extensions, the expected type.
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != "ES256")
    return fail(jwt_error::unsupported_alg, "the token's alg is not ES256");
  if (header.contains("crit"))
    return fail(jwt_error::malformed,
                "the header names critical extensions (crit)");
  if (!expect.type.empty()) {
    auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string() ||
        !same_type(typ->get_ref<const std::string&>(), expect.type))
      return fail(jwt_error::wrong_type,
                  "the token's typ is not " + expect.type);
  }

  // The key the token names.
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string() ||
      kid->get_ref<const std::string&>().empty())
    return fail(jwt_error::unknown_key, "the token names no kid");
  auto& kid_text = kid->get_ref<const std::string&>();
  std::optional<public_key> key;
  try {
    key = keys ? keys(kid_text) : std::nullopt;
  } catch (...) {
    key = std::nullopt;
  }
  if (!key) {
    // Only a kid of the thumbprint's form goes into the message.
    auto shown = kid_text.size() == thumbprint_chars &&
                     base64url_decode(kid_text).has_value()
                   ? " " + kid_text
                   : std::string{};
    return fail(jwt_error::unknown_key, "no key has the token's kid" + shown);
  }

  // The signature: exactly r || s, and valid for the first two parts.
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature)
    return fail(jwt_error::bad_signature, "the signature is not base64url");
  if (signature->size() != 64)
    return fail(jwt_error::bad_signature,
                "the signature has " + std::to_string(signature->size()) +
                  " bytes; ES256 takes 64 (r and s, not DER)");
  if (!key->verify(signing_input, *signature))
    return fail(jwt_error::bad_signature, "the signature does not match");

  // Only now the claims, which the signer vouches for.
  auto claims_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims_text)
    return fail(jwt_error::malformed, "the claims are not base64url");
  auto claims = parse_limited(*claims_text);
  if (claims.is_discarded())
    return fail(jwt_error::malformed,
                "the claims are not JSON or nest too deep");
  return check_claims(std::move(claims), expect, leeway);
}

} // namespace

const char* to_string(jwt_error x) noexcept {
  switch (x) {
  case jwt_error::none:
    return "none";
  case jwt_error::bad_expectations:
    return "bad_expectations";
  case jwt_error::too_large:
    return "too_large";
  case jwt_error::malformed:
    return "malformed";
  case jwt_error::unsupported_alg:
    return "unsupported_alg";
  case jwt_error::wrong_type:
    return "wrong_type";
  case jwt_error::unknown_key:
    return "unknown_key";
  case jwt_error::bad_signature:
    return "bad_signature";
  case jwt_error::invalid_claims:
    return "invalid_claims";
  case jwt_error::expired:
    return "expired";
  case jwt_error::not_yet_valid:
    return "not_yet_valid";
  case jwt_error::wrong_issuer:
    return "wrong_issuer";
  case jwt_error::wrong_audience:
    return "wrong_audience";
  }
  return "unknown";
}

std::optional<std::string> sign_jwt(const signing_key& key,
                                    const nlohmann::ordered_json& claims,
                                    std::string_view type) {
  try {
    if (!claims.is_object() || depth_of(claims) > max_jwt_depth)
      return std::nullopt;
    json header = {{"alg", "ES256"}, {"typ", type}, {"kid", key.kid()}};
    auto text = [](const json& x) {
      return base64url_encode(
        x.dump(-1, ' ', false, json::error_handler_t::replace));
    };
    auto token = text(header) + "." + text(claims);
    auto signature = key.sign(token);
    if (signature.empty())
      return std::nullopt;
    token += ".";
    token += base64url_encode(signature);
    if (token.size() > max_jwt_bytes)
      return std::nullopt;
    return token;
  } catch (...) {
    return std::nullopt;
  }
}

jwt_result verify_jwt(std::string_view token, const key_lookup& keys,
                      const jwt_expectations& expect) {
  try {
    return verify(token, keys, expect);
  } catch (...) {
    // Nothing in the token may throw; a lack of memory fails it.
    return fail(jwt_error::malformed, "the token could not be checked");
  }
}

} // namespace sb::auth
