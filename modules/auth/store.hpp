#pragma once

// The persistent store of the node's OAuth 2.1 authorization server: what
// must survive a restart and nothing else. That is the clients registered
// through RFC 7591 dynamic registration, refresh tokens (by hash: the store
// never sees a raw token) and the keys that sign access tokens.
//
// One actor, the auth service, owns a store and is its only caller. The
// store is synchronous, knows nothing of CAF and must not be used from two
// threads at once. It keeps its data in one SQLite file of mode 0600.
//
// Errors: every call returns an empty string on success and otherwise says
// what failed, in words fit for a log line; results come back through
// out-parameters, which hold nothing useful after a failure. No exception
// leaves the store but `std::bad_alloc`.
//
//   sb::auth::store db;
//   std::string warning;
//   if (auto err = db.open("/var/lib/switchboard/auth.db", warning);
//       !err.empty())
//     return fail(err);
//   if (!warning.empty())
//     log->warn("{}", warning);
//
// Times are seconds since the epoch, chosen by the caller: the store reads
// no clock. A refresh token is valid while `now < expires_at`.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sb::auth {

/// A client registered through RFC 7591 dynamic registration.
struct client_record {
  std::string client_id;
  /// Hash of the client secret; none for a public client.
  std::optional<std::string> client_secret_hash;
  /// The client metadata as registered: JSON text, kept as given.
  std::string metadata;
  /// When the client registered.
  int64_t created_at = 0;
};

/// Where a refresh token stands. A token is spent once it was exchanged for
/// its successor, and revoked with its family.
enum class token_state { active, spent, revoked };

/// The state as the store writes it: `active`, `spent` or `revoked`.
const char* to_string(token_state x) noexcept;

/// A refresh token as the store keeps it: by the hash of the token. Every
/// token descends from the first token of a grant; they form a family, and
/// revoking one revokes them all.
struct refresh_token {
  /// Hash of the token, computed by the caller; any bytes.
  std::string token_hash;
  std::string family_id;
  std::string client_id;
  /// The resource owner who granted access.
  std::string subject;
  /// The granted scopes, space-separated as in OAuth.
  std::string scope;
  /// The resource indicators (RFC 8707) the grant is bound to, encoded as
  /// the caller likes; empty for none.
  std::string resource;
  int64_t issued_at = 0;
  /// The first second at which the token is no longer valid.
  int64_t expires_at = 0;
  token_state state = token_state::active;
};

/// What the caller picks for the token that replaces a spent one. All else
/// comes from the spent token: family, client, subject and resource, and
/// the scope, which RFC 6749 section 6 keeps for a new refresh token.
struct successor_token {
  std::string token_hash;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

/// What became of a token presented for rotation.
enum class rotate_status {
  /// It was active: now it is spent, and its successor is active.
  rotated,
  /// It was spent already, so someone replays it: the whole family is now
  /// revoked, the successor that its rightful holder got as well.
  reused,
  /// Its family was revoked before.
  revoked,
  /// It expired; nothing changed.
  expired,
  /// No token has this hash (never issued, or purged).
  unknown,
  /// It belongs to another client; nothing changed.
  wrong_client,
};

/// The name of the status, for logs and tests.
const char* to_string(rotate_status x) noexcept;

/// The answer to a rotation.
struct rotate_result {
  rotate_status status = rotate_status::unknown;
  /// The presented token as it stood before the call; empty for `unknown`.
  /// After `rotated`, its subject, scope and resource are what the new
  /// access token carries.
  refresh_token old;
  /// How many tokens of the family this call revoked (after `reused`).
  size_t revoked = 0;
};

/// What became of a token presented for revocation.
enum class revoke_status {
  /// The token's family is revoked (now or before).
  revoked,
  /// No token has this hash. RFC 7009 answers 200 anyway.
  unknown,
  /// It belongs to another client; nothing changed. RFC 7009 refuses the
  /// request.
  wrong_client,
};

/// The name of the status, for logs and tests.
const char* to_string(revoke_status x) noexcept;

/// A key that signs access tokens, as the store keeps it; `signing_key` of
/// signing_key.hpp is the key loaded from its PEM.
struct stored_key {
  /// Key ID, as in the `kid` of a JWS header and the JWKS.
  std::string kid;
  /// The private key as unencrypted PEM text.
  std::string private_key_pem;
  /// When the key was made; the newest key that is not retired signs.
  int64_t created_at = 0;
  /// When the key stopped signing; a retired key still verifies tokens it
  /// signed before, so it stays in the JWKS until it is deleted.
  std::optional<int64_t> retired_at;
};

/// The persistent store. Closed when constructed; `open` opens it.
class store {
public:
  store();
  ~store();

  store(store&&) noexcept;
  store& operator=(store&&) noexcept;

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // -- the file ---------------------------------------------------------------

  /// The schema version that this build writes; `open` migrates older files
  /// to it and refuses newer ones.
  static int schema_version() noexcept;

  /// Opens the database at `path`, `:memory:` for one that lives as long as
  /// the store. A file that does not exist is created with mode 0600; its
  /// directory must exist. A file that group or others may read or write
  /// is restricted to 0600 (with its `-wal`, `-shm` and `-journal`
  /// companions), and `warning` says so; otherwise `warning` is empty.
  /// Then the schema is migrated, one transaction per version. Waits up to
  /// `busy_timeout_ms` for a lock that another process holds.
  [[nodiscard]] std::string open(const std::string& path, std::string& warning,
                                 int busy_timeout_ms = 5000);

  /// Closes the database; a closed store refuses every call but `open`.
  void close() noexcept;

  /// Whether `open` succeeded and `close` did not follow.
  bool is_open() const noexcept;

  // -- clients ----------------------------------------------------------------

  /// Registers `x`. Fails when its ID is taken.
  [[nodiscard]] std::string insert_client(const client_record& x);

  /// Looks up a client; `out` is empty when there is none.
  [[nodiscard]] std::string find_client(const std::string& client_id,
                                        std::optional<client_record>& out);

  /// Counts the registered clients, for a limit on registrations.
  [[nodiscard]] std::string count_clients(size_t& out);

  /// Deletes a client together with all its refresh tokens; `deleted` says
  /// whether there was one.
  [[nodiscard]] std::string delete_client(const std::string& client_id,
                                          bool& deleted);

  // -- refresh tokens ---------------------------------------------------------

  /// Inserts the first token of a new family, for a fresh grant. `x` must
  /// be active, its client registered, and its family ID unused.
  [[nodiscard]] std::string insert_refresh_token(const refresh_token& x);

  /// Looks up a token by hash; `out` is empty when there is none.
  [[nodiscard]] std::string
  find_refresh_token(const std::string& token_hash,
                     std::optional<refresh_token>& out);

  /// Exchanges the token with hash `old_hash`, presented by client
  /// `client_id`, for `next`, in one transaction. The checks run in this
  /// order: unknown, wrong client, revoked, spent (reuse: revokes the
  /// family, even when the spent token has expired since), expired. Only
  /// an active, unexpired token of that client is spent and gets `next` as
  /// successor in its family. A failure (say, `next` has the hash of
  /// another token) changes nothing.
  [[nodiscard]] std::string rotate_refresh_token(const std::string& old_hash,
                                                 const std::string& client_id,
                                                 const successor_token& next,
                                                 int64_t now,
                                                 rotate_result& out);

  /// Revokes the token with hash `token_hash` for the revocation endpoint
  /// (RFC 7009), presented by client `client_id`. Revokes its whole family,
  /// whatever the token's state: revoking a refresh token ends the grant,
  /// and a family member left alive would keep it going.
  [[nodiscard]] std::string revoke_refresh_token(const std::string& token_hash,
                                                 const std::string& client_id,
                                                 revoke_status& out);

  /// Revokes every token of a family; `revoked` counts those that were not
  /// revoked before.
  [[nodiscard]] std::string revoke_family(const std::string& family_id,
                                          size_t& revoked);

  /// Deletes every token that expired by `now`, whatever its state: an
  /// expired token is refused anyway, so after it expired its spent state
  /// need not be recognised any longer. `purged` counts them.
  [[nodiscard]] std::string purge_expired_refresh_tokens(int64_t now,
                                                         size_t& purged);

  // -- signing keys -----------------------------------------------------------

  /// Adds a key, not retired. Fails when its `kid` is taken.
  [[nodiscard]] std::string add_signing_key(const std::string& kid,
                                            const std::string& private_key_pem,
                                            int64_t created_at);

  /// All keys, retired ones included, newest first; keys created in the
  /// same second come in the reverse order of their adding.
  [[nodiscard]] std::string list_signing_keys(std::vector<stored_key>& out);

  /// Retires a key at `at`; a key retired before keeps its earlier time.
  /// `found` says whether there was such a key.
  [[nodiscard]] std::string retire_signing_key(const std::string& kid,
                                               int64_t at, bool& found);

  /// Deletes the keys retired before `retired_before`; `deleted` counts
  /// them. Pass a time that no token they signed can outlive.
  [[nodiscard]] std::string delete_retired_signing_keys(int64_t retired_before,
                                                        size_t& deleted);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sb::auth
