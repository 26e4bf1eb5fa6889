#define CAF_SUITE auth_store
#include "caf/test/unit_test.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modules/auth/store.hpp"

using namespace sb::auth;

namespace {

/// A directory under /tmp, removed with everything in it at the end.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = "/tmp/sb-auth-store-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path_ = tmpl;
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  /// `path` joined with `rel`.
  std::string operator/(const std::string& rel) const {
    return path_ + "/" + rel;
  }

private:
  std::string path_;
};

/// The permission bits of `path`, or -1 when it does not exist.
int mode_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool contains(const std::string& text, const std::string& part) {
  auto ok = text.find(part) != std::string::npos;
  if (!ok)
    CAF_MESSAGE("'" << text << "' does not contain '" << part << "'");
  return ok;
}

/// Runs `sql` on the file at `path` through SQLite itself, bypassing the
/// store: how the tests write old and foreign databases.
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK)
    CAF_FAIL("cannot open " << path << ": " << sqlite3_errmsg(db));
  char* msg = nullptr;
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  std::string err = msg != nullptr ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  if (rc != SQLITE_OK)
    CAF_FAIL("raw SQL failed: " << err);
}

/// The first column of the first row of `sql` on the file at `path`, as
/// text; empty when there is no row.
std::string raw_value(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK)
    CAF_FAIL("cannot open " << path << ": " << sqlite3_errmsg(db));
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

/// Version 1 of the schema, written out by hand as the first release
/// created it.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE clients (
  client_id TEXT NOT NULL PRIMARY KEY,
  client_secret_hash TEXT,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE refresh_tokens (
  token_hash TEXT NOT NULL PRIMARY KEY,
  family_id TEXT NOT NULL,
  client_id TEXT NOT NULL
    REFERENCES clients (client_id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'spent', 'revoked'))
) STRICT;
CREATE TABLE signing_keys (
  kid TEXT NOT NULL PRIMARY KEY,
  private_key_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
) STRICT;
)sql";

client_record make_client(const std::string& id,
                          std::optional<std::string> secret = std::nullopt) {
  client_record c;
  c.client_id = id;
  c.client_secret_hash = std::move(secret);
  c.metadata = R"({"client_name":")" + id + R"("})";
  c.created_at = 1000;
  return c;
}

/// The first token of family `family`, valid from 1000 until `expires_at`.
refresh_token make_token(const std::string& hash, const std::string& family,
                         const std::string& client, int64_t expires_at = 2000) {
  refresh_token t;
  t.token_hash = hash;
  t.family_id = family;
  t.client_id = client;
  t.subject = "alice";
  t.scope = "mcp:read mcp:write";
  t.resource = "https://node.example/mcp";
  t.issued_at = 1000;
  t.expires_at = expires_at;
  return t;
}

successor_token make_successor(const std::string& hash, int64_t issued_at,
                               int64_t expires_at = 3000) {
  successor_token s;
  s.token_hash = hash;
  s.issued_at = issued_at;
  s.expires_at = expires_at;
  return s;
}

struct fixture {
  temp_dir dir;
  std::string path = dir / "auth.db";
  store db;

  /// Opens `db` on `where` and requires success without a warning.
  void open(const std::string& where) {
    std::string warning;
    auto err = db.open(where, warning);
    CAF_REQUIRE_EQUAL(err, "");
    CAF_CHECK_EQUAL(warning, "");
  }

  void open_memory() { open(":memory:"); }

  /// A client `app` with token `a` of family `f`, and a client `other`.
  void seed(int64_t expires_at = 2000) {
    CAF_REQUIRE_EQUAL(db.insert_client(make_client("app")), "");
    CAF_REQUIRE_EQUAL(db.insert_client(make_client("other")), "");
    CAF_REQUIRE_EQUAL(
      db.insert_refresh_token(make_token("a", "f", "app", expires_at)), "");
  }

  /// The state of token `hash`, or nothing.
  std::optional<token_state> state_of(const std::string& hash) {
    std::optional<refresh_token> t;
    CAF_REQUIRE_EQUAL(db.find_refresh_token(hash, t), "");
    if (!t)
      return std::nullopt;
    return t->state;
  }

  rotate_result rotate(const std::string& old_hash, const std::string& next,
                       int64_t now, const std::string& client = "app") {
    rotate_result res;
    auto err = db.rotate_refresh_token(old_hash, client,
                                       make_successor(next, now), now, res);
    CAF_REQUIRE_EQUAL(err, "");
    return res;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(auth_store_tests, fixture)

// -- the file -----------------------------------------------------------------

CAF_TEST(a new file has mode 0600 even under a permissive umask) {
  auto old_mask = ::umask(0);
  std::string warning;
  auto err = db.open(path, warning);
  ::umask(old_mask);
  CAF_REQUIRE_EQUAL(err, "");
  CAF_CHECK_EQUAL(warning, "");
  CAF_CHECK_EQUAL(mode_of(path), 0600);
  // SQLite gives the WAL the mode of the database.
  CAF_REQUIRE_EQUAL(db.insert_client(make_client("app")), "");
  CAF_CHECK_EQUAL(mode_of(path + "-wal"), 0600);
  db.close();
  CAF_CHECK_EQUAL(raw_value(path, "PRAGMA journal_mode"), "wal");
}

CAF_TEST(a file open to others is restricted to 0600 with a warning) {
  open(path);
  db.close();
  ::chmod(path.c_str(), 0644);
  // A journal left over from some other run, readable by the group.
  std::ofstream{path + "-journal"};
  ::chmod((path + "-journal").c_str(), 0640);
  std::string warning;
  CAF_REQUIRE_EQUAL(db.open(path, warning), "");
  CAF_CHECK(contains(warning, "'" + path + "' had mode 0644"));
  CAF_CHECK(contains(warning, "-journal' had mode 0640"));
  CAF_CHECK(contains(warning, "restricted it to 0600"));
  CAF_CHECK_EQUAL(mode_of(path), 0600);
  auto journal = mode_of(path + "-journal");
  CAF_CHECK(journal == 0600 || journal == -1);
  // A private file opens without a word.
  db.close();
  open(path);
}

CAF_TEST(a missing directory is a clear error) {
  std::string warning;
  auto err = db.open(dir / "missing/auth.db", warning);
  CAF_CHECK(contains(err, "its directory does not exist"));
  CAF_CHECK(!db.is_open());
  CAF_CHECK(contains(db.open("", warning), "empty"));
}

CAF_TEST(a file that is no database is refused) {
  std::ofstream{path} << std::string(4096, 'x');
  ::chmod(path.c_str(), 0600);
  std::string warning;
  auto err = db.open(path, warning);
  CAF_CHECK(contains(err, "cannot open '" + path + "'"));
  CAF_CHECK(contains(err, "not a database"));
  CAF_CHECK(!db.is_open());
}

CAF_TEST(a closed store refuses every call but open) {
  size_t n = 0;
  CAF_CHECK(contains(db.count_clients(n), "not open"));
  CAF_CHECK(contains(db.insert_client(make_client("app")), "not open"));
  open_memory();
  std::string warning;
  CAF_CHECK(contains(db.open(":memory:", warning), "open already"));
  // A moved-from store is closed, and opens again.
  store other{std::move(db)};
  CAF_CHECK(other.is_open());
  CAF_CHECK(!db.is_open());
  CAF_CHECK(contains(db.count_clients(n), "not open"));
  open_memory();
  CAF_CHECK_EQUAL(db.count_clients(n), "");
}

CAF_TEST(everything survives a restart and a token rotates after reopen) {
  open(path);
  seed();
  CAF_REQUIRE_EQUAL(
    db.add_signing_key("k1", "-----BEGIN PRIVATE KEY-----", 1000), "");
  db.close();

  // The client, the key and the token are back; the token rotates.
  open(path);
  std::optional<client_record> client;
  CAF_REQUIRE_EQUAL(db.find_client("app", client), "");
  CAF_REQUIRE(client);
  CAF_CHECK_EQUAL(client->metadata, R"({"client_name":"app"})");
  std::vector<stored_key> keys;
  CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
  CAF_REQUIRE_EQUAL(keys.size(), 1u);
  CAF_CHECK_EQUAL(keys[0].private_key_pem, "-----BEGIN PRIVATE KEY-----");
  CAF_CHECK_EQUAL(rotate("a", "b", 1500).status, rotate_status::rotated);
  db.close();

  // So does the rotation: the old token stays spent, the new one works.
  open(path);
  CAF_CHECK_EQUAL(state_of("a"), token_state::spent);
  CAF_CHECK_EQUAL(state_of("b"), token_state::active);
  CAF_CHECK_EQUAL(rotate("b", "c", 1600).status, rotate_status::rotated);
  CAF_CHECK_EQUAL(mode_of(path), 0600);
}

// -- refresh tokens -----------------------------------------------------------

CAF_TEST(rotation spends the old token and continues its family) {
  open_memory();
  seed();
  auto res = rotate("a", "b", 1500);
  CAF_CHECK_EQUAL(res.status, rotate_status::rotated);
  CAF_CHECK_EQUAL(res.old.token_hash, "a");
  CAF_CHECK_EQUAL(res.old.state, token_state::active);
  CAF_CHECK_EQUAL(res.old.subject, "alice");
  CAF_CHECK_EQUAL(res.revoked, 0u);
  CAF_CHECK_EQUAL(state_of("a"), token_state::spent);
  std::optional<refresh_token> next;
  CAF_REQUIRE_EQUAL(db.find_refresh_token("b", next), "");
  CAF_REQUIRE(next);
  CAF_CHECK_EQUAL(next->family_id, "f");
  CAF_CHECK_EQUAL(next->client_id, "app");
  CAF_CHECK_EQUAL(next->subject, "alice");
  CAF_CHECK_EQUAL(next->scope, "mcp:read mcp:write");
  CAF_CHECK_EQUAL(next->resource, "https://node.example/mcp");
  CAF_CHECK_EQUAL(next->issued_at, 1500);
  CAF_CHECK_EQUAL(next->expires_at, 3000);
  CAF_CHECK_EQUAL(next->state, token_state::active);
}

CAF_TEST(a replayed spent token revokes its whole family) {
  open_memory();
  seed();
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token("x", "g", "app")), "");
  CAF_REQUIRE_EQUAL(rotate("a", "b", 1100).status, rotate_status::rotated);
  CAF_REQUIRE_EQUAL(rotate("b", "c", 1200).status, rotate_status::rotated);

  // The thief (or the holder) replays `a`: the live sibling `c` dies too.
  auto res = rotate("a", "d", 1300);
  CAF_CHECK_EQUAL(res.status, rotate_status::reused);
  CAF_CHECK_EQUAL(res.old.state, token_state::spent);
  CAF_CHECK_EQUAL(res.revoked, 3u);
  CAF_CHECK_EQUAL(state_of("d"), std::nullopt);
  CAF_CHECK_EQUAL(state_of("c"), token_state::revoked);
  CAF_CHECK_EQUAL(rotate("c", "e", 1400).status, rotate_status::revoked);
  CAF_CHECK_EQUAL(state_of("e"), std::nullopt);
  CAF_CHECK_EQUAL(rotate("a", "e", 1400).status, rotate_status::revoked);

  // Another family stays alive.
  CAF_CHECK_EQUAL(rotate("x", "y", 1500).status, rotate_status::rotated);
}

CAF_TEST(a spent token replayed after it expired still revokes its family) {
  open_memory();
  seed(2000);
  CAF_REQUIRE_EQUAL(rotate("a", "b", 1500).status, rotate_status::rotated);
  auto res = rotate("a", "c", 2500);
  CAF_CHECK_EQUAL(res.status, rotate_status::reused);
  CAF_CHECK_EQUAL(state_of("b"), token_state::revoked);
}

CAF_TEST(an expired token is refused and stays as it was) {
  open_memory();
  seed(2000);
  // Valid while now < expires_at: the second of expiry is too late.
  auto res = rotate("a", "b", 2000);
  CAF_CHECK_EQUAL(res.status, rotate_status::expired);
  CAF_CHECK_EQUAL(res.old.expires_at, 2000);
  CAF_CHECK_EQUAL(state_of("a"), token_state::active);
  CAF_CHECK_EQUAL(state_of("b"), std::nullopt);
  CAF_CHECK_EQUAL(rotate("a", "b", 1999).status, rotate_status::rotated);
}

CAF_TEST(an unknown hash changes nothing) {
  open_memory();
  seed();
  auto res = rotate("nope", "b", 1500);
  CAF_CHECK_EQUAL(res.status, rotate_status::unknown);
  CAF_CHECK_EQUAL(res.old.token_hash, "");
  CAF_CHECK_EQUAL(state_of("b"), std::nullopt);
  revoke_status st = revoke_status::revoked;
  CAF_REQUIRE_EQUAL(db.revoke_refresh_token("nope", "app", st), "");
  CAF_CHECK_EQUAL(st, revoke_status::unknown);
  CAF_CHECK_EQUAL(state_of("a"), token_state::active);
}

CAF_TEST(a token presented by another client is refused and stays usable) {
  open_memory();
  seed();
  auto res = rotate("a", "b", 1500, "other");
  CAF_CHECK_EQUAL(res.status, rotate_status::wrong_client);
  CAF_CHECK_EQUAL(state_of("b"), std::nullopt);
  revoke_status st = revoke_status::revoked;
  CAF_REQUIRE_EQUAL(db.revoke_refresh_token("a", "other", st), "");
  CAF_CHECK_EQUAL(st, revoke_status::wrong_client);
  CAF_CHECK_EQUAL(state_of("a"), token_state::active);
  CAF_CHECK_EQUAL(rotate("a", "b", 1500).status, rotate_status::rotated);
}

CAF_TEST(a rotation that fails halfway changes nothing) {
  open_memory();
  seed();
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token("x", "g", "app")), "");
  // The successor's hash is taken: the insert fails after the spend.
  rotate_result res;
  auto err =
    db.rotate_refresh_token("a", "app", make_successor("x", 1500), 1500, res);
  CAF_CHECK(contains(err, "a token with the successor's hash exists"));
  CAF_CHECK_EQUAL(state_of("a"), token_state::active);
  std::optional<refresh_token> x;
  CAF_REQUIRE_EQUAL(db.find_refresh_token("x", x), "");
  CAF_REQUIRE(x);
  CAF_CHECK_EQUAL(x->family_id, "g");
  CAF_CHECK_EQUAL(rotate("a", "b", 1500).status, rotate_status::rotated);
}

CAF_TEST(revoking a token ends its family) {
  open_memory();
  seed();
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token("x", "g", "app")), "");
  CAF_REQUIRE_EQUAL(rotate("a", "b", 1100).status, rotate_status::rotated);

  // Revoking the spent `a` takes its live successor `b` along.
  revoke_status st = revoke_status::unknown;
  CAF_REQUIRE_EQUAL(db.revoke_refresh_token("a", "app", st), "");
  CAF_CHECK_EQUAL(st, revoke_status::revoked);
  CAF_CHECK_EQUAL(state_of("a"), token_state::revoked);
  CAF_CHECK_EQUAL(state_of("b"), token_state::revoked);
  CAF_CHECK_EQUAL(rotate("b", "c", 1200).status, rotate_status::revoked);

  // Again: still revoked, nothing more to revoke.
  CAF_REQUIRE_EQUAL(db.revoke_refresh_token("b", "app", st), "");
  CAF_CHECK_EQUAL(st, revoke_status::revoked);
  size_t n = 99;
  CAF_REQUIRE_EQUAL(db.revoke_family("f", n), "");
  CAF_CHECK_EQUAL(n, 0u);

  // By family ID; another family is untouched until then.
  CAF_CHECK_EQUAL(state_of("x"), token_state::active);
  CAF_REQUIRE_EQUAL(db.revoke_family("g", n), "");
  CAF_CHECK_EQUAL(n, 1u);
  CAF_CHECK_EQUAL(state_of("x"), token_state::revoked);
}

CAF_TEST(purging deletes the expired tokens only) {
  open_memory();
  seed(100);
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token("x", "g", "app", 200)),
                    "");
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token("y", "h", "app", 300)),
                    "");
  size_t n = 0;
  CAF_REQUIRE_EQUAL(db.purge_expired_refresh_tokens(200, n), "");
  CAF_CHECK_EQUAL(n, 2u);
  CAF_CHECK_EQUAL(state_of("a"), std::nullopt);
  CAF_CHECK_EQUAL(state_of("x"), std::nullopt);
  CAF_CHECK_EQUAL(state_of("y"), token_state::active);
  CAF_CHECK_EQUAL(rotate("a", "b", 50).status, rotate_status::unknown);
  CAF_REQUIRE_EQUAL(db.purge_expired_refresh_tokens(200, n), "");
  CAF_CHECK_EQUAL(n, 0u);
}

CAF_TEST(a fresh grant starts a family of its own for a registered client) {
  open_memory();
  seed();
  CAF_CHECK(contains(db.insert_refresh_token(make_token("b", "f", "app")),
                     "family 'f' exists"));
  CAF_CHECK(contains(db.insert_refresh_token(make_token("b", "g", "ghost")),
                     "client 'ghost' is not registered"));
  CAF_CHECK(contains(db.insert_refresh_token(make_token("a", "g", "app")),
                     "a token with this hash exists"));
  auto spent = make_token("b", "g", "app");
  spent.state = token_state::spent;
  CAF_CHECK(contains(db.insert_refresh_token(spent), "must be active"));
  CAF_CHECK(contains(db.insert_refresh_token(make_token("", "g", "app")),
                     "must not be empty"));
  CAF_CHECK_EQUAL(state_of("b"), std::nullopt);
}

CAF_TEST(hashes are kept byte for byte) {
  open_memory();
  seed();
  std::string hash("\x00\xff\x80zz", 5);
  CAF_REQUIRE_EQUAL(db.insert_refresh_token(make_token(hash, "g", "app")), "");
  CAF_CHECK_EQUAL(state_of(hash), token_state::active);
  CAF_CHECK_EQUAL(state_of(std::string("\x00\xff\x80zy", 5)), std::nullopt);
}

// -- clients ------------------------------------------------------------------

CAF_TEST(clients are counted found and deleted with their tokens) {
  open_memory();
  size_t n = 99;
  CAF_REQUIRE_EQUAL(db.count_clients(n), "");
  CAF_CHECK_EQUAL(n, 0u);
  seed();
  CAF_REQUIRE_EQUAL(db.insert_client(make_client("confidential", "s3cr3t#")),
                    "");
  CAF_CHECK(
    contains(db.insert_client(make_client("app")), "the client ID is taken"));
  CAF_REQUIRE_EQUAL(db.count_clients(n), "");
  CAF_CHECK_EQUAL(n, 3u);

  // Public and confidential clients.
  std::optional<client_record> c;
  CAF_REQUIRE_EQUAL(db.find_client("app", c), "");
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->client_id, "app");
  CAF_CHECK(!c->client_secret_hash);
  CAF_CHECK_EQUAL(c->created_at, 1000);
  CAF_REQUIRE_EQUAL(db.find_client("confidential", c), "");
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->client_secret_hash, std::string{"s3cr3t#"});
  CAF_REQUIRE_EQUAL(db.find_client("ghost", c), "");
  CAF_CHECK(!c);

  // Deleting a client takes its tokens along.
  bool deleted = false;
  CAF_REQUIRE_EQUAL(db.delete_client("app", deleted), "");
  CAF_CHECK(deleted);
  CAF_CHECK_EQUAL(state_of("a"), std::nullopt);
  CAF_REQUIRE_EQUAL(db.delete_client("app", deleted), "");
  CAF_CHECK(!deleted);
  CAF_REQUIRE_EQUAL(db.count_clients(n), "");
  CAF_CHECK_EQUAL(n, 2u);
}

// -- signing keys -------------------------------------------------------------

CAF_TEST(signing keys come newest first and go some time after retiring) {
  open_memory();
  CAF_REQUIRE_EQUAL(db.add_signing_key("k1", "pem1", 100), "");
  CAF_REQUIRE_EQUAL(db.add_signing_key("k2", "pem2", 200), "");
  CAF_REQUIRE_EQUAL(db.add_signing_key("k3", "pem3", 200), "");
  CAF_CHECK(contains(db.add_signing_key("k1", "pem", 300), "kid is taken"));
  std::vector<stored_key> keys;
  CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
  CAF_REQUIRE_EQUAL(keys.size(), 3u);
  CAF_CHECK_EQUAL(keys[0].kid, "k3");
  CAF_CHECK_EQUAL(keys[1].kid, "k2");
  CAF_CHECK_EQUAL(keys[2].kid, "k1");
  CAF_CHECK_EQUAL(keys[2].private_key_pem, "pem1");
  CAF_CHECK(!keys[2].retired_at);

  // Retiring keeps the first time.
  bool found = false;
  CAF_REQUIRE_EQUAL(db.retire_signing_key("k1", 300, found), "");
  CAF_CHECK(found);
  CAF_REQUIRE_EQUAL(db.retire_signing_key("k1", 400, found), "");
  CAF_CHECK(found);
  CAF_REQUIRE_EQUAL(db.retire_signing_key("nope", 400, found), "");
  CAF_CHECK(!found);
  CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
  CAF_REQUIRE_EQUAL(keys.size(), 3u);
  CAF_CHECK_EQUAL(keys[2].retired_at, int64_t{300});

  // Deleted only once retired before the cutoff.
  size_t n = 99;
  CAF_REQUIRE_EQUAL(db.delete_retired_signing_keys(300, n), "");
  CAF_CHECK_EQUAL(n, 0u);
  CAF_REQUIRE_EQUAL(db.delete_retired_signing_keys(301, n), "");
  CAF_CHECK_EQUAL(n, 1u);
  CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
  CAF_REQUIRE_EQUAL(keys.size(), 2u);
  CAF_CHECK_EQUAL(keys[0].kid, "k3");
  CAF_CHECK_EQUAL(keys[1].kid, "k2");
}

// -- schema -------------------------------------------------------------------

CAF_TEST(a database of a newer schema is refused and left alone) {
  auto newer = std::to_string(store::schema_version() + 1);
  raw_exec(path, "CREATE TABLE future (x INTEGER); PRAGMA user_version = " +
                   newer + ";");
  ::chmod(path.c_str(), 0600);
  std::string warning;
  auto err = db.open(path, warning);
  CAF_CHECK(contains(err, "schema version " + newer + " is newer"));
  CAF_CHECK(!db.is_open());
  CAF_CHECK_EQUAL(raw_value(path, "PRAGMA user_version"), newer);
  CAF_CHECK_EQUAL(raw_value(path, "SELECT count(*) FROM sqlite_schema"), "1");
}

CAF_TEST(a version 1 database is migrated with its data) {
  CAF_REQUIRE(store::schema_version() > 1);
  raw_exec(path, std::string{schema_v1} + R"sql(
INSERT INTO clients VALUES ('app', NULL, '{}', 10);
INSERT INTO refresh_tokens VALUES
  ('a', 'f', 'app', 'alice', 'mcp:read', '', 10, 2000, 'active');
INSERT INTO signing_keys VALUES ('k1', 'pem1', 10, NULL);
PRAGMA user_version = 1;
)sql");
  ::chmod(path.c_str(), 0600);
  open(path);
  CAF_CHECK_EQUAL(rotate("a", "b", 1500).status, rotate_status::rotated);
  std::vector<stored_key> keys;
  CAF_REQUIRE_EQUAL(db.list_signing_keys(keys), "");
  CAF_CHECK_EQUAL(keys.size(), 1u);
  db.close();
  CAF_CHECK_EQUAL(raw_value(path, "PRAGMA user_version"),
                  std::to_string(store::schema_version()));
  CAF_CHECK_EQUAL(raw_value(path, "SELECT count(*) FROM sqlite_schema"
                                  " WHERE type = 'index' AND name IN"
                                  " ('refresh_tokens_by_family',"
                                  " 'refresh_tokens_by_expiry',"
                                  " 'refresh_tokens_by_client')"),
                  "3");
}

CAF_TEST(a failed migration leaves the database at its old version) {
  // The second index of version 2 collides with a table.
  raw_exec(path, std::string{schema_v1} + R"sql(
CREATE TABLE refresh_tokens_by_expiry (x INTEGER);
PRAGMA user_version = 1;
)sql");
  ::chmod(path.c_str(), 0600);
  std::string warning;
  auto err = db.open(path, warning);
  CAF_CHECK(contains(err, "migration to schema version 2"));
  CAF_CHECK(!db.is_open());
  CAF_CHECK_EQUAL(raw_value(path, "PRAGMA user_version"), "1");
  // The first index of the same migration is gone with it.
  CAF_CHECK_EQUAL(raw_value(path, "SELECT count(*) FROM sqlite_schema"
                                  " WHERE name = 'refresh_tokens_by_family'"),
                  "0");
}

CAF_TEST(a new database gets the latest schema) {
  open(path);
  db.close();
  CAF_CHECK_EQUAL(raw_value(path, "PRAGMA user_version"),
                  std::to_string(store::schema_version()));
  open(path);
}

CAF_TEST_FIXTURE_SCOPE_END()
