#define CAF_SUITE auth_crypto
#include "caf/test/unit_test.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "modules/auth/base64url.hpp"
#include "modules/auth/jwt.hpp"
#include "modules/auth/pkce.hpp"
#include "modules/auth/public_key.hpp"
#include "modules/auth/secrets.hpp"
#include "modules/auth/signing_key.hpp"

using namespace sb::auth;

namespace {

using json = nlohmann::ordered_json;

// RFC 7515 appendix A.3: an ES256 key and a JWS signed with it.
constexpr std::string_view a3_x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view a3_y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view a3_input =
  "eyJhbGciOiJFUzI1NiJ9"
  ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
  "LmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view a3_signature =
  "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKT"
  "UJqPP3-Kg6NU1Q";

// The RFC 7638 thumbprint of the A.3 key, computed apart from this library:
// base64url(SHA-256('{"crv":"P-256","kty":"EC","x":"f83O..","y":"x_FE.."}'))
// by Python's hashlib.
constexpr std::string_view a3_kid =
  "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U";

// The A.3 private key (d = jpsQnnGQ..) as PKCS#8 and as SEC1, written by
// `openssl pkey` and `openssl ec` from its DER.
constexpr const char* a3_pkcs8_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff
H1136cspYG6+0iY7X1fCE9+E9LKhRANCAAR/zc4ncPbEXUGDy+5v20t7WAczNXvp
7xO6z248e9FURcfxRM0bvZt+hyzf7bnuufSzaV1uqQskrYpGIyiFiOWt
-----END PRIVATE KEY-----
)";
constexpr const char* a3_sec1_pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEII6bEJ5xkJi/mASH3x9dd+nLKWBuvtImO19XwhPfhPSyoAoGCCqGSM49
AwEHoUQDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEXH8UTNG72b
focs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==
-----END EC PRIVATE KEY-----
)";

// The A.3 private scalar with the curve's generator as its public point.
constexpr const char* mismatched_pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEII6bEJ5xkJi/mASH3x9dd+nLKWBuvtImO19XwhPfhPSyoAoGCCqGSM49
AwEHoUQDQgAEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/
m47n60p8D54WK84zV2sxXs7LtkBoN79R9Q==
-----END EC PRIVATE KEY-----
)";

// Keys of other kinds, from `openssl genpkey`.
constexpr const char* secp256k1_pem = R"(-----BEGIN PRIVATE KEY-----
MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgXgZ8Jqiuw4OVWW6GahQX
Lql8A8mtKqCMrdPX53+TVE+hRANCAASAhXT/eS6inXo0wRtnPjFTqd3BYAV/L1ob
kyy/m9jKFBJFVB46+4kTkZF6AWqiPohbmDxhpr6janlyylO2cbo4
-----END PRIVATE KEY-----
)";
constexpr const char* ed25519_pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDJ2a37U75ma6EtpLsHuij15NSW7LLpmMcBhZG/8LIJY
-----END PRIVATE KEY-----
)";

// The A.3 key encrypted with the passphrase "secret" (`openssl pkcs8`).
constexpr const char* encrypted_pem = R"(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiEAG4zjeKf7gICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEEywlP9gvWAPXTzYgkuqwRQEgZD4
C0hAWT7pK80R3mqm7URvAHOmtDekGCSKqx4bKCzWq04L1baAlOtAJDpbbJPJLeEi
YQmkkTalsCutzI8KMYdZMWBAkfuJO5aCEqMEOOvLoBO/vwlSotcRs+xPpNY/x8LR
OIekoPsf4foQbRXKOFPb7qtwlGB5V5OKoUIvDcQT6UnN/3Xwj1ieZzRW/3+qAn8=
-----END ENCRYPTED PRIVATE KEY-----
)";

constexpr int64_t t0 = 1'750'000'000;
const std::string issuer = "https://node.example";
const std::string audience = "https://node.example/mcp";

/// SHA-256 from OpenSSL directly, apart from the library's own.
std::string openssl_sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

/// The DER encoding of a raw r || s signature, written out by hand: what
/// OpenSSL, and a JWS library that forgets the conversion, would produce.
std::string der_of(std::string_view raw) {
  auto integer = [](std::string_view half) {
    size_t zeros = 0;
    while (zeros + 1 < half.size() && half[zeros] == '\0')
      ++zeros;
    std::string value{half.substr(zeros)};
    if (static_cast<unsigned char>(value[0]) & 0x80)
      value.insert(0, 1, '\0');
    return std::string{"\x02"} + static_cast<char>(value.size()) + value;
  };
  auto body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  return std::string{"\x30"} + static_cast<char>(body.size()) + body;
}

/// Whether OpenSSL itself accepts the DER signature `der` of `data` by
/// the key `pem`: proof that a rejected DER signature is a real one.
bool openssl_accepts_der(const std::string& pem, std::string_view data,
                         const std::string& der) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{
    PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
    EVP_PKEY_free};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  auto ok =
    pkey && ctx &&
    EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         pkey.get()) == 1 &&
    EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
      reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::string hmac_sha256(std::string_view secret, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

/// The bytes that `text` encodes, or a marker that no bytes would give.
std::string decoded(std::string_view text) {
  return base64url_decode(text).value_or("<invalid base64url>");
}

/// The base64url part of a token for the JSON text `text`.
std::string part(std::string_view text) {
  return base64url_encode(text);
}

/// The three parts of a compact token.
std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (auto dot = token.find('.'); dot != std::string::npos;
       dot = token.find('.', pos)) {
    parts.push_back(token.substr(pos, dot - pos));
    pos = dot + 1;
  }
  parts.push_back(token.substr(pos));
  return parts;
}

json claims_at(int64_t now) {
  return {{"iss", issuer},     {"sub", "alice"},   {"aud", audience},
          {"iat", now},        {"exp", now + 300}, {"scope", "mcp:tools"},
          {"client_id", "app"}};
}

jwt_expectations expect_at(int64_t now, int64_t leeway = 60) {
  jwt_expectations expect;
  expect.issuer = issuer;
  expect.audience = audience;
  expect.now = now;
  expect.leeway = leeway;
  return expect;
}

std::string reason(const jwt_result& result) {
  return to_string(result.error);
}

struct fixture {
  signing_key key = signing_key::generate();
  signing_key other = signing_key::generate();

  /// Finds both keys, as a JWKS endpoint during a rotation would.
  key_lookup keys = [this](const std::string& kid) {
    std::optional<public_key> found;
    if (kid == key.kid())
      found = key.public_part();
    else if (kid == other.kid())
      found = other.public_part();
    return found;
  };

  jwt_result check(std::string_view token, int64_t now = t0,
                   int64_t leeway = 60) {
    return verify_jwt(token, keys, expect_at(now, leeway));
  }

  /// The header `sign_jwt` writes, for tokens made by hand.
  std::string header_text(const std::string& alg = "ES256") {
    return json{{"alg", alg}, {"typ", "at+jwt"}, {"kid", key.kid()}}.dump();
  }

  /// A token of exactly these header and claims texts, validly signed.
  std::string forge(const std::string& header, const std::string& claims) {
    auto input = part(header) + "." + part(claims);
    return input + "." + base64url_encode(key.sign(input));
  }

  std::string forge_claims(const json& claims) {
    return forge(header_text(), claims.dump());
  }

  std::string token_at(int64_t now) {
    auto token = sign_jwt(key, claims_at(now));
    CAF_REQUIRE(token.has_value());
    return *token;
  }
};

} // namespace

CAF_TEST(base64url matches the RFC 4648 vectors without padding) {
  CAF_CHECK_EQUAL(base64url_encode(""), "");
  CAF_CHECK_EQUAL(base64url_encode("f"), "Zg");
  CAF_CHECK_EQUAL(base64url_encode("fo"), "Zm8");
  CAF_CHECK_EQUAL(base64url_encode("foo"), "Zm9v");
  CAF_CHECK_EQUAL(base64url_encode("foob"), "Zm9vYg");
  CAF_CHECK_EQUAL(base64url_encode("fooba"), "Zm9vYmE");
  CAF_CHECK_EQUAL(base64url_encode("foobar"), "Zm9vYmFy");
  // The two characters where base64url differs from base64.
  CAF_CHECK_EQUAL(base64url_encode("\xfb\xff"), "-_8");
  CAF_CHECK_EQUAL(decoded("-_8"), "\xfb\xff");
  CAF_CHECK_EQUAL(decoded("Zm9vYmE"), "fooba");
  CAF_CHECK_EQUAL(decoded(""), "");
}

CAF_TEST(base64url round trips every byte and every tail length) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); ++n) {
    auto bytes = all.substr(all.size() - n);
    auto text = base64url_encode(bytes);
    CAF_CHECK_EQUAL(text.find_first_of("+/="), std::string::npos);
    CAF_CHECK_EQUAL(decoded(text), bytes);
  }
}

CAF_TEST(base64url decoding is strict) {
  // Padding, the base64 alphabet, whitespace and other bytes.
  CAF_CHECK(!base64url_decode("Zg=="));
  CAF_CHECK(!base64url_decode("Zm8="));
  CAF_CHECK(!base64url_decode("+_8"));
  CAF_CHECK(!base64url_decode("-/8"));
  CAF_CHECK(!base64url_decode("Zm9v Yg"));
  CAF_CHECK(!base64url_decode("Zm9v\nYg"));
  CAF_CHECK(!base64url_decode(std::string_view{"Zm\0v", 4}));
  CAF_CHECK(!base64url_decode("Zm9v\xc3\xa9"));
  // A length of 4n+1 encodes no whole byte.
  CAF_CHECK(!base64url_decode("Z"));
  CAF_CHECK(!base64url_decode("Zm9vY"));
  // Bits after the last byte must be zero: "Zh" and "Zm9" would decode
  // to the same bytes as "Zg" and "Zm8".
  CAF_CHECK(!base64url_decode("Zh"));
  CAF_CHECK(!base64url_decode("Zm9"));
  CAF_CHECK(base64url_decode("Zg"));
}

CAF_TEST(random tokens carry the requested bytes and differ) {
  auto a = random_token();
  auto b = random_token();
  CAF_CHECK_EQUAL(a.size(), 43u);
  CAF_CHECK_NOT_EQUAL(a, b);
  auto bytes = base64url_decode(a);
  CAF_REQUIRE(bytes);
  CAF_CHECK_EQUAL(bytes->size(), 32u);
  CAF_CHECK_EQUAL(decoded(random_token(16)).size(), 16u);
  CAF_CHECK_EQUAL(random_token(0), "");
}

CAF_TEST(sha256 and token hashes match the FIPS 180 vector) {
  CAF_CHECK_EQUAL(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223"
                                      "b00361a396177a9cb410ff61f20015ad");
  CAF_CHECK_EQUAL(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb924"
                                   "27ae41e4649b934ca495991b7852b855");
  CAF_CHECK_EQUAL(token_hash("abc"),
                  "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  auto token = random_token();
  CAF_CHECK_EQUAL(token_hash(token), base64url_encode(openssl_sha256(token)));
  CAF_CHECK_NOT_EQUAL(token_hash(token), token_hash(random_token()));
}

CAF_TEST(constant time equality compares bytes and lengths) {
  CAF_CHECK(constant_time_equal("", ""));
  CAF_CHECK(constant_time_equal("abc", "abc"));
  CAF_CHECK(!constant_time_equal("abc", "abd"));
  CAF_CHECK(!constant_time_equal("abc", "xbc"));
  CAF_CHECK(!constant_time_equal("abc", "abcd"));
  CAF_CHECK(!constant_time_equal("", "a"));
  CAF_CHECK(!constant_time_equal(std::string_view{"a\0b", 3},
                                 std::string_view{"a\0c", 3}));
}

CAF_TEST(pkce S256 matches the RFC 7636 appendix B vector) {
  auto verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  CAF_CHECK_EQUAL(pkce_s256_challenge(verifier), challenge);
  CAF_CHECK(pkce_s256_matches(verifier, challenge));
  // A near miss of the vector, with the right prefix, must not match.
  CAF_CHECK(!pkce_s256_matches(verifier,
                               "E9Melhoa2OwvFrEMTJguCHaoeKt8Ztm8ZizkD6xUB4c"));
  CAF_CHECK(!pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
                               challenge));
  // The plain method, challenge equal to verifier, is not S256.
  auto plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
  CAF_CHECK(!pkce_s256_matches(plain, plain));
}

CAF_TEST(pkce verifiers and challenges must have their form) {
  std::string v43(43, 'a');
  CAF_CHECK(valid_code_verifier(v43));
  CAF_CHECK(valid_code_verifier(std::string(128, '~')));
  CAF_CHECK(valid_code_verifier("Az09-._~" + std::string(35, 'x')));
  CAF_CHECK(!valid_code_verifier(std::string(42, 'a')));
  CAF_CHECK(!valid_code_verifier(std::string(129, 'a')));
  CAF_CHECK(!valid_code_verifier(""));
  for (auto bad : {'+', '/', '=', ' ', '%', '\0', '\xc3'}) {
    auto verifier = v43;
    verifier[20] = bad;
    CAF_CHECK(!valid_code_verifier(verifier));
  }
  // A verifier of the wrong form fails even with its own challenge.
  std::string short_verifier(42, 'a');
  CAF_CHECK(
    !pkce_s256_matches(short_verifier, pkce_s256_challenge(short_verifier)));

  auto challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  CAF_CHECK(valid_code_challenge(challenge));
  CAF_CHECK(!valid_code_challenge(std::string{challenge} + "="));
  CAF_CHECK(!valid_code_challenge(std::string{challenge} + "A"));
  CAF_CHECK(!valid_code_challenge(std::string{challenge}.substr(0, 42)));
  CAF_CHECK(
    !valid_code_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
  // The last character carries 2 spare bits; "d" sets one of them.
  CAF_CHECK(
    !valid_code_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
  CAF_CHECK(!pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                               "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
}

CAF_TEST(the RFC 7515 A3 signature verifies with the key from its JWK) {
  std::string why;
  auto key = public_key::from_jwk(
    {{"kty", "EC"}, {"crv", "P-256"}, {"x", a3_x}, {"y", a3_y}}, why);
  CAF_REQUIRE(key);
  CAF_CHECK_EQUAL(key->kid(), a3_kid);
  auto signature = base64url_decode(a3_signature);
  CAF_REQUIRE(signature);
  CAF_CHECK(key->verify(a3_input, *signature));

  // A changed byte of the signature or of the data fails.
  auto flipped = *signature;
  flipped[40] ^= 0x01;
  CAF_CHECK(!key->verify(a3_input, flipped));
  CAF_CHECK(!key->verify(std::string{a3_input} + "x", *signature));

  // The same signature in DER is valid for OpenSSL, but not for JWS.
  auto der = der_of(*signature);
  CAF_CHECK(openssl_accepts_der(a3_pkcs8_pem, a3_input, der));
  CAF_CHECK(!key->verify(a3_input, der));
  CAF_CHECK(!key->verify(a3_input, ""));
  CAF_CHECK(!key->verify(a3_input, signature->substr(0, 63)));
  CAF_CHECK(!key->verify(a3_input, *signature + std::string(1, '\0')));
  // r or s of zero is no signature.
  CAF_CHECK(!key->verify(a3_input, std::string(64, '\0')));
}

CAF_TEST(the kid is the RFC 7638 thumbprint of the key) {
  std::string why;
  auto a3 = signing_key::from_pem(a3_pkcs8_pem, why);
  CAF_REQUIRE(a3);
  CAF_CHECK_EQUAL(a3->kid(), a3_kid);
  auto jwk = a3->public_jwk();
  CAF_CHECK_EQUAL(jwk.dump(),
                  R"({"kty":"EC","crv":"P-256","x":")" + std::string{a3_x} +
                    R"(","y":")" + std::string{a3_y} + R"(","kid":")" +
                    std::string{a3_kid} + R"(","use":"sig","alg":"ES256"})");

  // A fresh key: the thumbprint of its canonical JWK, hashed by OpenSSL.
  auto key = signing_key::generate();
  auto pub = key.public_jwk();
  auto canonical = R"({"crv":"P-256","kty":"EC","x":")" +
                   pub["x"].get<std::string>() + R"(","y":")" +
                   pub["y"].get<std::string>() + R"("})";
  CAF_CHECK_EQUAL(key.kid(), base64url_encode(openssl_sha256(canonical)));
  CAF_CHECK_EQUAL(pub["kid"].get<std::string>(), key.kid());
  CAF_CHECK_EQUAL(key.public_part().kid(), key.kid());
  auto second = signing_key::generate();
  CAF_CHECK_NOT_EQUAL(key.kid(), second.kid());
}

CAF_TEST(coordinates with leading zero bytes keep all 32 bytes) {
  // About one key in 128 has a coordinate below 2^248; find one.
  std::optional<signing_key> found;
  size_t short_coordinates = 0;
  for (int i = 0; i < 4000 && !found; ++i) {
    auto key = signing_key::generate();
    auto jwk = key.public_jwk();
    auto x = decoded(jwk["x"].get<std::string>());
    auto y = decoded(jwk["y"].get<std::string>());
    if (x.size() != 32 || y.size() != 32)
      ++short_coordinates;
    else if (x[0] == '\0' || y[0] == '\0')
      found = key;
  }
  CAF_CHECK_EQUAL(short_coordinates, 0u);
  CAF_REQUIRE(found);
  std::string why;
  auto pub = public_key::from_jwk(found->public_jwk(), why);
  CAF_REQUIRE(pub);
  CAF_CHECK_EQUAL(pub->kid(), found->kid());
  CAF_CHECK(pub->verify("data", found->sign("data")));
}

CAF_TEST(signatures are 64 raw bytes that verify only their data) {
  auto key = signing_key::generate();
  auto signature = key.sign("hello");
  CAF_CHECK_EQUAL(signature.size(), 64u);
  CAF_CHECK(key.public_part().verify("hello", signature));
  CAF_CHECK(!key.public_part().verify("hellO", signature));
  CAF_CHECK(!signing_key::generate().public_part().verify("hello", signature));
  // ECDSA draws a fresh nonce each time.
  CAF_CHECK_NOT_EQUAL(key.sign("hello"), signature);
}

CAF_TEST(a key saved as PEM loads back with the same kid) {
  auto key = signing_key::generate();
  auto pem = key.to_pem();
  CAF_CHECK_EQUAL(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  std::string why;
  auto loaded = signing_key::from_pem(pem, why);
  CAF_REQUIRE(loaded);
  CAF_CHECK_EQUAL(why, "");
  CAF_CHECK_EQUAL(loaded->kid(), key.kid());
  CAF_CHECK_EQUAL(loaded->public_jwk().dump(), key.public_jwk().dump());
  CAF_CHECK(key.public_part().verify("x", loaded->sign("x")));
  CAF_CHECK_EQUAL(loaded->to_pem(), pem);

  // SEC1 PEM, as `openssl ecparam -genkey` writes it, loads too.
  auto sec1 = signing_key::from_pem(a3_sec1_pem, why);
  CAF_REQUIRE(sec1);
  CAF_CHECK_EQUAL(sec1->kid(), a3_kid);
  CAF_CHECK_EQUAL(sec1->to_pem(), a3_pkcs8_pem);
}

CAF_TEST(keys other than unencrypted P256 private keys are refused) {
  auto refused = [](std::string_view pem, std::string_view words) {
    std::string why;
    auto key = signing_key::from_pem(pem, why);
    CAF_CHECK(!key);
    CAF_CHECK_NOT_EQUAL(why.find(words), std::string::npos);
    if (why.find(words) == std::string::npos)
      CAF_MESSAGE("why: " << why);
    CAF_CHECK_EQUAL(ERR_peek_error(), 0u);
  };
  refused(secp256k1_pem, "another curve than P-256");
  refused(ed25519_pem, "not an EC key");
  refused(encrypted_pem, "not an unencrypted PEM private key");
  refused(mismatched_pem, "not a valid P-256 key");
  refused("", "not an unencrypted PEM private key");
  refused("hello", "not an unencrypted PEM private key");
  // Half a key, and a public key where the private one belongs.
  std::string pem = a3_pkcs8_pem;
  refused(pem.substr(0, pem.size() / 2), "not an unencrypted PEM");
  auto pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
    "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
    "-----END PUBLIC KEY-----\n";
  refused(pub, "not an unencrypted PEM private key");
  refused(std::string(20000, 'A'), "longer than 16 KiB");
}

CAF_TEST(a JWK must be a valid public P256 key) {
  json good = {{"kty", "EC"}, {"crv", "P-256"}, {"x", a3_x}, {"y", a3_y}};
  std::string why;
  CAF_CHECK(public_key::from_jwk(good, why));
  auto with = [&](const char* name, json value) {
    auto jwk = good;
    jwk[name] = std::move(value);
    return jwk;
  };
  auto refused = [](const json& jwk, std::string_view words) {
    std::string why;
    CAF_CHECK(!public_key::from_jwk(jwk, why));
    CAF_CHECK_NOT_EQUAL(why.find(words), std::string::npos);
    if (why.find(words) == std::string::npos)
      CAF_MESSAGE("why: " << why);
    CAF_CHECK_EQUAL(ERR_peek_error(), 0u);
  };
  refused(json::array(), "not a JSON object");
  refused("EC", "not a JSON object");
  refused(with("kty", "RSA"), "kty");
  refused(with("crv", "P-384"), "crv");
  refused(with("crv", "secp256k1"), "crv");
  refused(with("use", "enc"), "use");
  refused(with("alg", "HS256"), "alg");
  refused(with("alg", nullptr), "alg");
  refused(with("d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"), "private");
  refused(with("kid", "key-1"), "thumbprint");
  refused(with("x", 7), "32 bytes");
  refused(with("x", std::string{a3_x} + "="), "32 bytes");
  refused(with("x", std::string{a3_x}.substr(0, 42)), "32 bytes");
  refused(with("x", base64url_encode(std::string(33, '\x01'))), "32 bytes");
  auto jwk = good;
  jwk.erase("y");
  refused(jwk, "32 bytes");
  // A point off the curve: y of A.3 with its lowest bit flipped.
  auto y = *base64url_decode(a3_y);
  y[31] ^= 0x01;
  refused(with("y", base64url_encode(y)), "not a point on P-256");
  // The point at x = 0 does not lie on P-256.
  refused(with("x", base64url_encode(std::string(32, '\0'))), "not a point");

  // Its own kid, use and alg are welcome.
  CAF_CHECK(public_key::from_jwk(with("kid", a3_kid), why));
  auto full = with("use", "sig");
  full["alg"] = "ES256";
  CAF_CHECK(public_key::from_jwk(full, why));
}

CAF_TEST_FIXTURE_SCOPE(jwt_tests, fixture)

CAF_TEST(a signed token verifies and gives back its claims) {
  auto token = token_at(t0);
  auto result = check(token);
  CAF_CHECK(result);
  CAF_CHECK_EQUAL(reason(result), "none");
  CAF_CHECK_EQUAL(result.message, "");
  CAF_CHECK_EQUAL(result.claims.dump(), claims_at(t0).dump());
  auto parts = split(token);
  CAF_REQUIRE_EQUAL(parts.size(), 3u);
  CAF_CHECK_EQUAL(decoded(parts[0]),
                  R"({"alg":"ES256","typ":"at+jwt","kid":")" + key.kid() +
                    R"("})");
  CAF_CHECK_EQUAL(decoded(parts[2]).size(), 64u);
}

CAF_TEST(a verifier built from the published JWK alone accepts tokens) {
  // The JWK as text, as a JWKS endpoint serves it.
  auto text = json{{"keys", json::array({key.public_jwk()})}}.dump();
  auto jwks = json::parse(text);
  std::string why;
  auto pub = public_key::from_jwk(jwks["keys"][0], why);
  CAF_REQUIRE(pub);
  key_lookup from_jwks = [&](const std::string& kid) {
    return kid == pub->kid() ? pub : std::nullopt;
  };
  CAF_CHECK(verify_jwt(token_at(t0), from_jwks, expect_at(t0)));
  auto token = sign_jwt(other, claims_at(t0));
  CAF_REQUIRE(token);
  CAF_CHECK_EQUAL(reason(verify_jwt(*token, from_jwks, expect_at(t0))),
                  "unknown_key");
}

CAF_TEST(tokens of the previous key verify by their kid after a rotation) {
  auto old_token = sign_jwt(other, claims_at(t0));
  CAF_REQUIRE(old_token);
  CAF_CHECK(check(*old_token));
  CAF_CHECK(check(token_at(t0)));
}

CAF_TEST(alg none is refused) {
  auto claims = claims_at(t0).dump();
  auto none = part(R"({"alg":"none","typ":"at+jwt"})") + "." + part(claims);
  CAF_CHECK_EQUAL(reason(check(none + ".")), "unsupported_alg");
  CAF_CHECK_EQUAL(reason(check(none)), "malformed");
  // With a kid, and with the valid signature of an ES256 token.
  auto token = token_at(t0);
  auto parts = split(token);
  for (auto alg : {"none", "None", "NONE", "es256", "ES384", "ES256K", ""}) {
    auto header = part(json{{"alg", alg}, {"kid", key.kid()}}.dump());
    auto forged = header + "." + parts[1] + "." + parts[2];
    CAF_CHECK_EQUAL(reason(check(forged)), "unsupported_alg");
  }
  CAF_CHECK_EQUAL(reason(check(forge(R"({"kid":"x"})", claims))),
                  "unsupported_alg");
  CAF_CHECK_EQUAL(reason(check(forge(R"({"alg":["ES256"]})", claims))),
                  "unsupported_alg");
}

CAF_TEST(an HS256 token keyed with the public key is refused) {
  // The classic confusion: the public key, which anyone can fetch, used
  // as an HMAC secret by a verifier that trusts the token's alg.
  auto claims = claims_at(t0).dump();
  auto input = part(header_text("HS256")) + "." + part(claims);
  for (auto secret : {key.public_jwk().dump(), key.public_part().kid(),
                      std::string{part(key.public_jwk().dump())}}) {
    auto forged = input + "." + base64url_encode(hmac_sha256(secret, input));
    auto result = check(forged);
    CAF_CHECK_EQUAL(reason(result), "unsupported_alg");
    CAF_CHECK(result.claims.is_null());
  }
  // Claiming ES256 with an HMAC as signature fails on the signature.
  auto es_input = part(header_text()) + "." + part(claims);
  auto mac = hmac_sha256(key.public_jwk().dump(), es_input);
  CAF_CHECK_EQUAL(reason(check(es_input + "." + base64url_encode(mac))),
                  "bad_signature");
  CAF_CHECK_EQUAL(reason(check(es_input + "." + base64url_encode(mac + mac))),
                  "bad_signature");
}

CAF_TEST(a tampered payload fails the signature) {
  auto parts = split(token_at(t0));
  auto claims = claims_at(t0);
  claims["sub"] = "admin";
  auto forged = parts[0] + "." + part(claims.dump()) + "." + parts[2];
  CAF_CHECK_EQUAL(reason(check(forged)), "bad_signature");
  // The same claims with other spacing are other bytes.
  auto spaced = parts[0] + "." + part(claims_at(t0).dump(1)) + "." + parts[2];
  CAF_CHECK_EQUAL(reason(check(spaced)), "bad_signature");
}

CAF_TEST(a tampered signature byte fails) {
  auto parts = split(token_at(t0));
  auto signature = *base64url_decode(parts[2]);
  for (size_t i : {0u, 31u, 32u, 63u}) {
    auto changed = signature;
    changed[i] ^= 0x80;
    auto forged = parts[0] + "." + parts[1] + "." + base64url_encode(changed);
    CAF_CHECK_EQUAL(reason(check(forged)), "bad_signature");
  }
  // r and s swapped.
  auto swapped = signature.substr(32) + signature.substr(0, 32);
  CAF_CHECK_EQUAL(
    reason(check(parts[0] + "." + parts[1] + "." + base64url_encode(swapped))),
    "bad_signature");
}

CAF_TEST(every one character change of a token fails it) {
  auto token = token_at(t0);
  std::string alphabet = "Aa0-_.";
  size_t accepted = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    for (auto c : alphabet) {
      if (token[i] == c)
        continue;
      auto changed = token;
      changed[i] = c;
      try {
        if (check(changed))
          ++accepted;
      } catch (...) {
        CAF_FAIL("verify_jwt threw at position " << i);
      }
    }
  }
  CAF_CHECK_EQUAL(accepted, 0u);
}

CAF_TEST(a DER signature is refused even though it is a valid one) {
  // Search for a signature whose DER form has 70 bytes (r and s both
  // below 2^255); others have 71 or 72.
  auto claims = claims_at(t0).dump();
  auto input = part(header_text()) + "." + part(claims);
  std::string der;
  for (int i = 0; i < 400 && der.size() != 70; ++i)
    der = der_of(key.sign(input));
  CAF_REQUIRE_EQUAL(der.size(), 70u);
  CAF_CHECK(openssl_accepts_der(key.to_pem(), input, der));
  auto result = check(input + "." + base64url_encode(der));
  CAF_CHECK_EQUAL(reason(result), "bad_signature");
  CAF_CHECK_NOT_EQUAL(result.message.find("64"), std::string::npos);
  CAF_CHECK(!key.public_part().verify(input, der));
}

CAF_TEST(a kid that names another key or none fails) {
  auto claims = claims_at(t0).dump();
  // Signed by `key` but naming `other`, which the lookup knows.
  auto header = json{{"alg", "ES256"}, {"typ", "at+jwt"}, {"kid", other.kid()}};
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims))), "bad_signature");
  // Naming a key nobody knows.
  auto stranger = signing_key::generate().kid();
  header["kid"] = stranger;
  auto result = check(forge(header.dump(), claims));
  CAF_CHECK_EQUAL(reason(result), "unknown_key");
  CAF_CHECK_NOT_EQUAL(result.message.find(stranger), std::string::npos);
  // A kid not shaped like a thumbprint stays out of the message.
  header["kid"] = "<script>";
  result = check(forge(header.dump(), claims));
  CAF_CHECK_EQUAL(reason(result), "unknown_key");
  CAF_CHECK_EQUAL(result.message.find("script"), std::string::npos);
  // No kid, an empty one, one of another type.
  header.erase("kid");
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims))), "unknown_key");
  header["kid"] = "";
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims))), "unknown_key");
  header["kid"] = 1;
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims))), "unknown_key");
}

CAF_TEST(a lookup that throws or is empty fails the token) {
  auto token = token_at(t0);
  key_lookup throwing = [](const std::string&) -> std::optional<public_key> {
    throw std::runtime_error("database gone");
  };
  CAF_CHECK_EQUAL(reason(verify_jwt(token, throwing, expect_at(t0))),
                  "unknown_key");
  CAF_CHECK_EQUAL(reason(verify_jwt(token, key_lookup{}, expect_at(t0))),
                  "unknown_key");
}

CAF_TEST(expiry holds to the second with and without leeway) {
  auto exp = t0 + 300;
  auto token = token_at(t0);
  CAF_CHECK(check(token, exp - 1, 0));
  CAF_CHECK_EQUAL(reason(check(token, exp, 0)), "expired");
  CAF_CHECK(check(token, exp + 59, 60));
  CAF_CHECK_EQUAL(reason(check(token, exp + 60, 60)), "expired");
  CAF_CHECK_EQUAL(reason(check(token, exp + 100000, 60)), "expired");
  // A negative leeway counts as none.
  CAF_CHECK_EQUAL(reason(check(token, exp, -30)), "expired");
  CAF_CHECK(check(token, exp - 1, -30));
}

CAF_TEST(exp is required and must be a number) {
  auto claims = claims_at(t0);
  claims.erase("exp");
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "invalid_claims");
  for (auto bad : {json("1750000300"), json(true), json(nullptr),
                   json::array({t0 + 300})}) {
    claims["exp"] = bad;
    CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "invalid_claims");
  }
  // Fractions round down; values beyond 64 bits neither wrap nor throw.
  claims["exp"] = t0 + 10.5;
  CAF_CHECK(check(forge_claims(claims), t0 + 9, 0));
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims), t0 + 10, 0)), "expired");
  claims["exp"] = 1e300;
  CAF_CHECK(check(forge_claims(claims)));
  claims["exp"] = -1e300;
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "expired");
  claims["exp"] = UINT64_MAX;
  CAF_CHECK(check(forge_claims(claims), t0, INT64_MAX));
  claims["exp"] = INT64_MIN;
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims), t0, INT64_MAX)),
                  "expired");
  // Numbers too large for a double are parse errors of their own kind.
  auto text = claims_at(t0).dump();
  text.replace(text.find(std::to_string(t0 + 300)), 10, "1e999");
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), text))), "malformed");
}

CAF_TEST(nbf and iat in the future fail beyond the leeway) {
  for (auto name : {"nbf", "iat"}) {
    auto claims = claims_at(t0);
    claims[name] = t0 + 60;
    CAF_CHECK(check(forge_claims(claims), t0, 60));
    claims[name] = t0 + 61;
    CAF_CHECK_EQUAL(reason(check(forge_claims(claims), t0, 60)),
                    "not_yet_valid");
    CAF_CHECK(check(forge_claims(claims), t0 + 1, 60));
    claims[name] = t0 + 1;
    CAF_CHECK_EQUAL(reason(check(forge_claims(claims), t0, 0)),
                    "not_yet_valid");
    claims[name] = "soon";
    CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "invalid_claims");
  }
  // A token may be checked as soon as it is issued.
  CAF_CHECK(check(token_at(t0), t0, 0));
}

CAF_TEST(the issuer must match exactly) {
  auto claims = claims_at(t0);
  for (auto bad :
       {json("https://evil.example"), json(issuer + "/"),
        json("HTTPS://node.example"), json::array({issuer}), json(nullptr)}) {
    claims["iss"] = bad;
    CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_issuer");
  }
  claims.erase("iss");
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_issuer");
}

CAF_TEST(the audience may be a string or an array that contains it) {
  auto claims = claims_at(t0);
  claims["aud"] = json::array({"https://other.example", audience});
  CAF_CHECK(check(forge_claims(claims)));
  claims["aud"] = json::array({audience});
  CAF_CHECK(check(forge_claims(claims)));

  claims["aud"] = "https://other.example";
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_audience");
  claims["aud"] = json::array({"https://other.example"});
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_audience");
  claims["aud"] = json::array();
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_audience");
  claims["aud"] = audience + "x";
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_audience");
  claims.erase("aud");
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "wrong_audience");

  claims["aud"] = json::array({audience, 7});
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "invalid_claims");
  claims["aud"] = json{{"aud", audience}};
  CAF_CHECK_EQUAL(reason(check(forge_claims(claims))), "invalid_claims");
}

CAF_TEST(the type must be an access token unless the verifier waives it) {
  auto claims = claims_at(t0).dump();
  auto header = json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", key.kid()}};
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims))), "wrong_type");
  header["typ"] = "application/AT+JWT";
  CAF_CHECK(check(forge(header.dump(), claims)));
  header.erase("typ");
  auto untyped = forge(header.dump(), claims);
  CAF_CHECK_EQUAL(reason(check(untyped)), "wrong_type");
  auto expect = expect_at(t0);
  expect.type.clear();
  CAF_CHECK(verify_jwt(untyped, keys, expect));
  // A token signed for another type is refused where access tokens go.
  auto id_token = sign_jwt(key, claims_at(t0), "JWT");
  CAF_REQUIRE(id_token);
  CAF_CHECK_EQUAL(reason(check(*id_token)), "wrong_type");
}

CAF_TEST(critical header extensions are refused) {
  auto header = json{{"alg", "ES256"},
                     {"typ", "at+jwt"},
                     {"kid", key.kid()},
                     {"crit", json::array({"exp"})}};
  CAF_CHECK_EQUAL(reason(check(forge(header.dump(), claims_at(t0).dump()))),
                  "malformed");
}

CAF_TEST(claims must be a JSON object) {
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), "[1]"))), "invalid_claims");
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), "\"x\""))),
                  "invalid_claims");
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), "{\"exp\":"))),
                  "malformed");
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), "{\"a\":\"\xff\"}"))),
                  "malformed");
  CAF_CHECK(!sign_jwt(key, json::array()));
  CAF_CHECK(!sign_jwt(key, "claims"));
  CAF_CHECK(!sign_jwt(key, nullptr));
}

CAF_TEST(json nested deeper than the limit is refused) {
  // Claims whose deepest value lies `depth` objects down, the claims
  // object included.
  auto nested = [&](size_t depth) {
    auto claims = claims_at(t0);
    json inner = 1;
    for (size_t i = 1; i < depth; ++i)
      inner = json{{"n", inner}};
    claims["deep"] = inner;
    return claims;
  };
  CAF_REQUIRE(sign_jwt(key, nested(max_jwt_depth)));
  CAF_CHECK(check(*sign_jwt(key, nested(max_jwt_depth))));
  CAF_CHECK(!sign_jwt(key, nested(max_jwt_depth + 1)));
  CAF_CHECK_EQUAL(reason(check(forge_claims(nested(max_jwt_depth + 1)))),
                  "malformed");
  // Arrays count as well, in the header too.
  auto deep = std::string(100, '[') + std::string(100, ']');
  auto claims = claims_at(t0).dump();
  claims.insert(1, "\"deep\":" + deep + ",");
  CAF_CHECK_EQUAL(reason(check(forge(header_text(), claims))), "malformed");
  auto header = header_text();
  header.insert(1, "\"deep\":" + deep + ",");
  CAF_CHECK_EQUAL(reason(check(forge(header, claims_at(t0).dump()))),
                  "malformed");
}

CAF_TEST(tokens longer than 8 KiB are refused unread) {
  auto claims = claims_at(t0);
  claims["pad"] = std::string(5000, 'x');
  auto fits = sign_jwt(key, claims);
  CAF_REQUIRE(fits);
  CAF_CHECK(check(*fits));
  claims["pad"] = std::string(7000, 'x');
  CAF_CHECK(!sign_jwt(key, claims));
  auto long_token = forge_claims(claims);
  CAF_CHECK_GREATER(long_token.size(), max_jwt_bytes);
  CAF_CHECK_EQUAL(reason(check(long_token)), "too_large");
  CAF_CHECK_EQUAL(reason(check(std::string(max_jwt_bytes + 1, 'a'))),
                  "too_large");
}

CAF_TEST(malformed tokens fail without throwing) {
  auto token = token_at(t0);
  auto parts = split(token);
  std::vector<std::string> inputs = {
    "",
    ".",
    "..",
    "...",
    "a.b.c",
    "a.b.c.d",
    parts[0] + "." + parts[1],
    token + ".",
    token + "." + parts[2],
    "." + parts[1] + "." + parts[2],
    part("[1]") + "." + parts[1] + "." + parts[2],
    part("null") + "." + parts[1] + "." + parts[2],
    part("{\"alg\":\"ES256\"") + "." + parts[1] + "." + parts[2],
    part("{\"alg\":\"ES256\"}garbage") + "." + parts[1] + "." + parts[2],
    part("{\"alg\":\"\xc3\x28\"}") + "." + parts[1] + "." + parts[2],
    parts[0] + "=." + parts[1] + "." + parts[2],
    parts[0] + "." + parts[1] + "." + parts[2] + "==",
    parts[0] + "." + parts[1] + ".!" + parts[2].substr(1),
    parts[0] + "." + parts[1] + ".",
    std::string("\0.\0.\0", 5),
    " " + token,
    token + "\n",
  };
  for (auto& input : inputs) {
    try {
      auto result = check(input);
      CAF_CHECK(!result);
      CAF_CHECK_NOT_EQUAL(result.message, "");
      CAF_CHECK(result.claims.is_null());
    } catch (...) {
      CAF_FAIL("verify_jwt threw for " << input);
    }
  }
  CAF_CHECK_EQUAL(reason(check(part("[1]") + "." + parts[1] + "." + parts[2])),
                  "malformed");
  CAF_CHECK_EQUAL(reason(check("a.b.c")), "malformed");
  CAF_CHECK_EQUAL(reason(check(parts[0] + "." + parts[1])), "malformed");
  CAF_CHECK_EQUAL(reason(check(token + "." + parts[2])), "malformed");
}

CAF_TEST(a verifier without issuer audience or time accepts nothing) {
  auto token = token_at(t0);
  auto expect = expect_at(t0);
  expect.issuer.clear();
  CAF_CHECK_EQUAL(reason(verify_jwt(token, keys, expect)), "bad_expectations");
  expect = expect_at(t0);
  expect.audience.clear();
  CAF_CHECK_EQUAL(reason(verify_jwt(token, keys, expect)), "bad_expectations");
  jwt_expectations no_time;
  no_time.issuer = issuer;
  no_time.audience = audience;
  CAF_CHECK_EQUAL(reason(verify_jwt(token, keys, no_time)), "bad_expectations");
}

CAF_TEST(failures leave no errors in the OpenSSL queue of the thread) {
  // The node's TLS connections share this queue (tls_error_queue.hpp).
  auto parts = split(token_at(t0));
  auto signature = *base64url_decode(parts[2]);
  signature[5] ^= 1;
  check(parts[0] + "." + parts[1] + "." + base64url_encode(signature));
  CAF_CHECK_EQUAL(ERR_peek_error(), 0u);
  CAF_CHECK(!key.public_part().verify("x", std::string(64, '\xff')));
  CAF_CHECK_EQUAL(ERR_peek_error(), 0u);
  std::string why;
  CAF_CHECK(!signing_key::from_pem(encrypted_pem, why));
  CAF_CHECK_EQUAL(ERR_peek_error(), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
