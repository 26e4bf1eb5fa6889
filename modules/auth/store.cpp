#include "modules/auth/store.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

namespace sb::auth {

namespace {

// -- schema -------------------------------------------------------------------

/// One step of the schema. Each script ends by setting `user_version` to its
/// own version, a literal, so that the version moves in the same transaction
/// as the tables.
struct migration {
  const char* what;
  const char* script;
};

/// Every schema version in order: migration `i` takes a database from
/// version `i` to `i + 1`. A released migration never changes; a change of
/// the schema is a new one at the end.
constexpr migration migrations[] = {
  {"clients, refresh tokens and signing keys", R"sql(
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
PRAGMA user_version = 1;
)sql"},
  {"indexes for revoking families, purging and deleting clients", R"sql(
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_by_client ON refresh_tokens (client_id);
PRAGMA user_version = 2;
)sql"},
};

constexpr int latest_version = static_cast<int>(std::size(migrations));

// -- queries ------------------------------------------------------------------

/// The statements the store runs, prepared once when it opens.
enum class q : size_t {
  begin,
  commit,
  rollback,
  insert_client,
  find_client,
  count_clients,
  delete_client,
  insert_token,
  find_token,
  family_exists,
  spend_token,
  revoke_family,
  purge_tokens,
  add_key,
  list_keys,
  retire_key,
  delete_keys,
};

/// The text of each statement, in the order of `q`. Values are parameters
/// only, never part of the text.
constexpr const char* query_text[] = {
  // begin: takes the write lock at once, so that what a call reads cannot
  // change before it writes.
  "BEGIN IMMEDIATE",
  // commit, rollback
  "COMMIT",
  "ROLLBACK",
  // insert_client
  "INSERT INTO clients (client_id, client_secret_hash, metadata, created_at)"
  " VALUES (?1, ?2, ?3, ?4)",
  // find_client
  "SELECT client_id, client_secret_hash, metadata, created_at FROM clients"
  " WHERE client_id = ?1",
  // count_clients
  "SELECT count(*) FROM clients",
  // delete_client
  "DELETE FROM clients WHERE client_id = ?1",
  // insert_token
  "INSERT INTO refresh_tokens (token_hash, family_id, client_id, subject,"
  " scope, resource, issued_at, expires_at, state)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active')",
  // find_token
  "SELECT token_hash, family_id, client_id, subject, scope, resource,"
  " issued_at, expires_at, state FROM refresh_tokens WHERE token_hash = ?1",
  // family_exists
  "SELECT 1 FROM refresh_tokens WHERE family_id = ?1 LIMIT 1",
  // spend_token
  "UPDATE refresh_tokens SET state = 'spent'"
  " WHERE token_hash = ?1 AND state = 'active'",
  // revoke_family
  "UPDATE refresh_tokens SET state = 'revoked'"
  " WHERE family_id = ?1 AND state <> 'revoked'",
  // purge_tokens
  "DELETE FROM refresh_tokens WHERE expires_at <= ?1",
  // add_key
  "INSERT INTO signing_keys (kid, private_key_pem, created_at)"
  " VALUES (?1, ?2, ?3)",
  // list_keys
  "SELECT kid, private_key_pem, created_at, retired_at FROM signing_keys"
  " ORDER BY created_at DESC, rowid DESC",
  // retire_key
  "UPDATE signing_keys SET retired_at = coalesce(retired_at, ?2)"
  " WHERE kid = ?1",
  // delete_keys
  "DELETE FROM signing_keys"
  " WHERE retired_at IS NOT NULL AND retired_at < ?1",
};

constexpr size_t query_count = std::size(query_text);

static_assert(static_cast<size_t>(q::delete_keys) + 1 == query_count,
              "query_text must list one text for each q, in order");

/// A prepared statement in use: binds parameters in order, steps, reads
/// columns, and resets the statement when it goes out of scope so that the
/// next use finds it clean.
class query {
public:
  explicit query(sqlite3_stmt* stmt) noexcept
      : stmt_(stmt) {}

  query(const query&) = delete;
  query& operator=(const query&) = delete;

  ~query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  query& bind(const std::string& x) {
    return check(sqlite3_bind_text64(stmt_, ++index_, x.data(), x.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8));
  }

  query& bind(int64_t x) {
    return check(sqlite3_bind_int64(stmt_, ++index_, x));
  }

  query& bind(const std::optional<std::string>& x) {
    if (x)
      return bind(*x);
    return check(sqlite3_bind_null(stmt_, ++index_));
  }

  /// Runs one step: `SQLITE_ROW`, `SQLITE_DONE` or the code of a failure,
  /// a failed bind included.
  int step() {
    if (bind_rc_ != SQLITE_OK)
      return bind_rc_;
    return sqlite3_step(stmt_);
  }

  /// Runs a statement that returns no rows; true when it went through.
  bool run() { return step() == SQLITE_DONE; }

  /// What the last failure was.
  std::string error() const {
    if (bind_rc_ != SQLITE_OK)
      return sqlite3_errstr(bind_rc_);
    return sqlite3_errmsg(sqlite3_db_handle(stmt_));
  }

  /// The extended code of the last failure, to tell constraints apart.
  int extended_code() const {
    return bind_rc_ != SQLITE_OK
             ? bind_rc_
             : sqlite3_extended_errcode(sqlite3_db_handle(stmt_));
  }

  /// Rows that the statement inserted, changed or deleted.
  size_t changes() const {
    return static_cast<size_t>(sqlite3_changes64(sqlite3_db_handle(stmt_)));
  }

  std::string text(int col) const {
    auto data = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    auto size = sqlite3_column_bytes(stmt_, col);
    return data != nullptr ? std::string(data, static_cast<size_t>(size))
                           : std::string{};
  }

  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

  bool is_null(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }

private:
  query& check(int rc) {
    if (bind_rc_ == SQLITE_OK)
      bind_rc_ = rc;
    return *this;
  }

  sqlite3_stmt* stmt_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
};

/// A transaction that rolls back unless committed.
class transaction {
public:
  transaction(sqlite3_stmt* begin, sqlite3_stmt* commit,
              sqlite3_stmt* rollback) noexcept
      : begin_(begin)
      , commit_(commit)
      , rollback_(rollback) {}

  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  ~transaction() {
    if (open_)
      query{rollback_}.run();
  }

  std::string begin() {
    query x{begin_};
    if (!x.run())
      return "cannot begin a transaction: " + x.error();
    open_ = true;
    return {};
  }

  std::string commit() {
    query x{commit_};
    if (!x.run())
      return "cannot commit: " + x.error();
    open_ = false;
    return {};
  }

private:
  sqlite3_stmt* begin_;
  sqlite3_stmt* commit_;
  sqlite3_stmt* rollback_;
  bool open_ = false;
};

token_state parse_state(const std::string& text) noexcept {
  if (text == "active")
    return token_state::active;
  if (text == "spent")
    return token_state::spent;
  // The schema admits nothing else; were it to, a dead token is the safe
  // reading.
  return token_state::revoked;
}

/// The token in the current row of a `find_token` query.
refresh_token read_token(const query& x) {
  refresh_token t;
  t.token_hash = x.text(0);
  t.family_id = x.text(1);
  t.client_id = x.text(2);
  t.subject = x.text(3);
  t.scope = x.text(4);
  t.resource = x.text(5);
  t.issued_at = x.integer(6);
  t.expires_at = x.integer(7);
  t.state = parse_state(x.text(8));
  return t;
}

// -- files --------------------------------------------------------------------

std::string errno_text(int code) {
  char buf[256];
  // GNU strerror_r: returns a pointer that may or may not point into `buf`.
  return strerror_r(code, buf, sizeof(buf));
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// A file descriptor that closes itself.
struct fd_guard {
  int fd;

  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Restricts `file` to mode 0600 when group or others may use it, and says
/// so in `warning`. A missing file is fine unless it is `required`.
std::string restrict_mode(const std::string& file, bool required,
                          std::string& warning) {
  // Open, then look and change through the descriptor: the file cannot be
  // swapped in between. O_NONBLOCK keeps a FIFO put there from hanging us.
  fd_guard f{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (f.fd < 0) {
    if (errno == ENOENT && !required)
      return {};
    return "cannot open '" + file + "': " + errno_text(errno);
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0)
    return "cannot stat '" + file + "': " + errno_text(errno);
  if (!S_ISREG(st.st_mode))
    return "'" + file + "' is not a regular file";
  if ((st.st_mode & 077) == 0)
    return {};
  if (::fchmod(f.fd, 0600) != 0)
    return "'" + file + "' has mode " + mode_text(st.st_mode) +
           ", open to group or others, and cannot be restricted to 0600: " +
           errno_text(errno);
  if (!warning.empty())
    warning += "; ";
  warning += "'" + file + "' had mode " + mode_text(st.st_mode) +
             ", open to group or others; restricted it to 0600";
  return {};
}

/// Creates the database file `path` with mode 0600 unless it exists, and
/// restricts an existing one and its companions to 0600.
std::string secure_files(const std::string& path, std::string& warning) {
  // O_EXCL creates the file or fails when there is one, in one step: no
  // other process can put a file of its own there in between.
  fd_guard f{::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (f.fd >= 0) {
    // The umask may have taken bits from 0600 that SQLite needs.
    if (::fchmod(f.fd, 0600) != 0)
      return "cannot set mode 0600 on '" + path + "': " + errno_text(errno);
  } else if (errno == ENOENT || errno == ENOTDIR) {
    return "cannot create '" + path + "': its directory does not exist";
  } else if (errno != EEXIST) {
    return "cannot create '" + path + "': " + errno_text(errno);
  } else if (auto err = restrict_mode(path, true, warning); !err.empty()) {
    return err;
  }

  // SQLite gives its journals the mode of the database, but files left
  // over from before keep theirs.
  for (auto suffix : {"-wal", "-shm", "-journal"})
    if (auto err = restrict_mode(path + suffix, false, warning); !err.empty())
      return err;
  return {};
}

// -- set-up -------------------------------------------------------------------

/// Runs `sql`, text without values, that returns no rows.
std::string exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db);
  return {};
}

/// Runs a pragma that returns one value and reads it as text.
std::string pragma(sqlite3* db, const char* sql, std::string& out) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite3_errmsg(db);
  std::string err;
  {
    query x{stmt};
    if (x.step() == SQLITE_ROW)
      out = x.text(0);
    else
      err = x.error();
  }
  sqlite3_finalize(stmt);
  return err;
}

/// Turns on what the store relies on.
std::string configure(sqlite3* db) {
  // Read the file first: a file that is no database fails here, plainly.
  std::string value;
  if (auto err = pragma(db, "PRAGMA schema_version", value); !err.empty())
    return "cannot read it: " + err;

  // Foreign keys tie refresh tokens to their client. The pragma does
  // nothing where SQLite was built without them, so check that it took.
  if (auto err = exec(db, "PRAGMA foreign_keys = ON"); !err.empty())
    return "cannot turn on foreign keys: " + err;
  if (auto err = pragma(db, "PRAGMA foreign_keys", value);
      !err.empty() || value != "1")
    return "this SQLite does not enforce foreign keys";

  // WAL, so that a reader does not wait for the writer; a database in
  // memory keeps its own mode.
  if (auto err = pragma(db, "PRAGMA journal_mode = WAL", value); !err.empty())
    return "cannot set the journal mode: " + err;
  if (value != "wal" && value != "memory")
    return "cannot use a WAL journal: the mode stays '" + value + "'";

  // A rotation that was answered must survive a power loss: undone, it
  // would bring a spent token back to life.
  if (auto err = exec(db, "PRAGMA synchronous = FULL"); !err.empty())
    return "cannot set synchronous mode: " + err;

  // Deleted keys and tokens are overwritten, not left in free pages.
  if (auto err = exec(db, "PRAGMA secure_delete = ON"); !err.empty())
    return "cannot turn on secure delete: " + err;
  return {};
}

/// Reads `PRAGMA user_version`.
std::string read_version(sqlite3* db, int& out) {
  std::string value;
  if (auto err = pragma(db, "PRAGMA user_version", value); !err.empty())
    return "cannot read the schema version: " + err;
  out = std::atoi(value.c_str());
  return {};
}

/// Brings the schema to `latest_version`, one transaction per migration. Each
/// transaction reads the version anew, so two processes that open the same
/// file at once do not run a migration twice.
std::string migrate(sqlite3* db) {
  for (;;) {
    if (auto err = exec(db, "BEGIN IMMEDIATE"); !err.empty())
      return "cannot begin a migration: " + err;
    int version = 0;
    auto err = read_version(db, version);
    if (err.empty() && version > latest_version)
      err = "its schema version " + std::to_string(version) +
            " is newer than this build's (" + std::to_string(latest_version) +
            "); a newer Switchboard wrote it";
    else if (err.empty() && version < 0)
      err = "its schema version " + std::to_string(version) + " is not ours";
    if (!err.empty() || version == latest_version) {
      exec(db, "ROLLBACK");
      return err;
    }

    // One step, checked before it counts.
    auto& step = migrations[version];
    auto next = std::to_string(version + 1);
    if (auto what = exec(db, step.script); !what.empty())
      err = "migration to schema version " + next + " (" + step.what +
            ") failed: " + what;
    int now = 0;
    if (err.empty() && (err = read_version(db, now)).empty() &&
        now != version + 1)
      err = "migration to schema version " + next + " (" + step.what +
            ") left version " + std::to_string(now);
    if (err.empty())
      if (auto what = exec(db, "COMMIT"); !what.empty())
        err =
          "cannot commit the migration to schema version " + next + ": " + what;
    if (!err.empty()) {
      exec(db, "ROLLBACK");
      return err;
    }
  }
}

/// The message for a failed insert: a taken key or an unknown client in
/// words, anything else as SQLite says it.
std::string insert_error(const query& x, const std::string& what,
                         const std::string& taken,
                         const std::string& no_client = {}) {
  switch (x.extended_code()) {
  case SQLITE_CONSTRAINT_PRIMARYKEY:
  case SQLITE_CONSTRAINT_UNIQUE:
    return "cannot " + what + ": " + taken;
  case SQLITE_CONSTRAINT_FOREIGNKEY:
    if (!no_client.empty())
      return "cannot " + what + ": client '" + no_client +
             "' is not registered";
    break;
  default:
    break;
  }
  return "cannot " + what + ": " + x.error();
}

constexpr const char* not_open = "the auth store is not open";

} // namespace

// -- names --------------------------------------------------------------------

const char* to_string(token_state x) noexcept {
  switch (x) {
  case token_state::active:
    return "active";
  case token_state::spent:
    return "spent";
  case token_state::revoked:
    return "revoked";
  }
  return "?";
}

const char* to_string(rotate_status x) noexcept {
  switch (x) {
  case rotate_status::rotated:
    return "rotated";
  case rotate_status::reused:
    return "reused";
  case rotate_status::revoked:
    return "revoked";
  case rotate_status::expired:
    return "expired";
  case rotate_status::unknown:
    return "unknown";
  case rotate_status::wrong_client:
    return "wrong_client";
  }
  return "?";
}

const char* to_string(revoke_status x) noexcept {
  switch (x) {
  case revoke_status::revoked:
    return "revoked";
  case revoke_status::unknown:
    return "unknown";
  case revoke_status::wrong_client:
    return "wrong_client";
  }
  return "?";
}

// -- the store ----------------------------------------------------------------

struct store::impl {
  sqlite3* db = nullptr;
  std::array<sqlite3_stmt*, query_count> stmts{};

  ~impl() { close(); }

  void close() noexcept {
    for (auto& stmt : stmts) {
      sqlite3_finalize(stmt);
      stmt = nullptr;
    }
    sqlite3_close_v2(db);
    db = nullptr;
  }

  sqlite3_stmt* stmt(q id) const { return stmts[static_cast<size_t>(id)]; }

  query use(q id) const { return query{stmt(id)}; }

  transaction tx() const {
    return transaction{stmt(q::begin), stmt(q::commit), stmt(q::rollback)};
  }

  std::string prepare_all() {
    for (size_t i = 0; i < query_count; ++i)
      if (sqlite3_prepare_v3(db, query_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                             &stmts[i], nullptr) != SQLITE_OK)
        return "cannot prepare '" + std::string{query_text[i]} +
               "': " + sqlite3_errmsg(db);
    return {};
  }

  /// Looks up a token by hash.
  std::string find_token(const std::string& hash,
                         std::optional<refresh_token>& out) {
    out.reset();
    auto x = use(q::find_token);
    x.bind(hash);
    switch (x.step()) {
    case SQLITE_ROW:
      out = read_token(x);
      return {};
    case SQLITE_DONE:
      return {};
    default:
      return "cannot look up a refresh token: " + x.error();
    }
  }

  /// Revokes a family; `revoked` counts the tokens that were not before.
  std::string revoke_family(const std::string& family_id, size_t& revoked) {
    auto x = use(q::revoke_family);
    x.bind(family_id);
    if (!x.run())
      return "cannot revoke family '" + family_id + "': " + x.error();
    revoked = x.changes();
    return {};
  }
};

store::store()
    : impl_(std::make_unique<impl>()) {}

store::~store() = default;

store::store(store&&) noexcept = default;

store& store::operator=(store&&) noexcept = default;

int store::schema_version() noexcept {
  return latest_version;
}

std::string store::open(const std::string& path, std::string& warning,
                        int busy_timeout_ms) {
  warning.clear();
  if (!impl_)
    impl_ = std::make_unique<impl>();
  if (impl_->db != nullptr)
    return "the auth store is open already";
  if (path.empty())
    return "the path of the auth store is empty";
  auto in_memory = path == ":memory:";

  // The file, made private before SQLite opens it.
  if (!in_memory)
    if (auto err = secure_files(path, warning); !err.empty())
      return err;

  // The connection: no creating here, the file exists by now (or vanished,
  // which is an error).
  auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (in_memory)
    flags |= SQLITE_OPEN_CREATE;
  auto rc = sqlite3_open_v2(path.c_str(), &impl_->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string err =
      impl_->db != nullptr ? sqlite3_errmsg(impl_->db) : sqlite3_errstr(rc);
    impl_->close();
    return "cannot open '" + path + "': " + err;
  }
  sqlite3_extended_result_codes(impl_->db, 1);
  sqlite3_busy_timeout(impl_->db, busy_timeout_ms);

  // Settings, schema, statements.
  auto err = configure(impl_->db);
  if (err.empty())
    err = migrate(impl_->db);
  if (err.empty())
    err = impl_->prepare_all();
  if (!err.empty()) {
    impl_->close();
    return "cannot open '" + path + "': " + err;
  }
  return {};
}

void store::close() noexcept {
  if (impl_)
    impl_->close();
}

bool store::is_open() const noexcept {
  return impl_ && impl_->db != nullptr;
}

// -- clients ------------------------------------------------------------------

std::string store::insert_client(const client_record& x) {
  if (!is_open())
    return not_open;
  if (x.client_id.empty())
    return "cannot insert a client: the client ID is empty";
  auto ins = impl_->use(q::insert_client);
  ins.bind(x.client_id).bind(x.client_secret_hash).bind(x.metadata);
  ins.bind(x.created_at);
  if (!ins.run())
    return insert_error(ins, "insert client '" + x.client_id + "'",
                        "the client ID is taken");
  return {};
}

std::string store::find_client(const std::string& client_id,
                               std::optional<client_record>& out) {
  out.reset();
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::find_client);
  x.bind(client_id);
  switch (x.step()) {
  case SQLITE_ROW: {
    client_record c;
    c.client_id = x.text(0);
    if (!x.is_null(1))
      c.client_secret_hash = x.text(1);
    c.metadata = x.text(2);
    c.created_at = x.integer(3);
    out = std::move(c);
    return {};
  }
  case SQLITE_DONE:
    return {};
  default:
    return "cannot look up client '" + client_id + "': " + x.error();
  }
}

std::string store::count_clients(size_t& out) {
  out = 0;
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::count_clients);
  if (x.step() != SQLITE_ROW)
    return "cannot count clients: " + x.error();
  out = static_cast<size_t>(x.integer(0));
  return {};
}

std::string store::delete_client(const std::string& client_id, bool& deleted) {
  deleted = false;
  if (!is_open())
    return not_open;
  // Its refresh tokens go with it: ON DELETE CASCADE.
  auto x = impl_->use(q::delete_client);
  x.bind(client_id);
  if (!x.run())
    return "cannot delete client '" + client_id + "': " + x.error();
  deleted = x.changes() > 0;
  return {};
}

// -- refresh tokens -----------------------------------------------------------

std::string store::insert_refresh_token(const refresh_token& x) {
  if (!is_open())
    return not_open;
  if (x.token_hash.empty() || x.family_id.empty() || x.client_id.empty())
    return "cannot insert a refresh token: its hash, family ID and client ID "
           "must not be empty";
  if (x.state != token_state::active)
    return "cannot insert a refresh token: a new token must be active";
  auto tx = impl_->tx();
  if (auto err = tx.begin(); !err.empty())
    return err;

  // A fresh grant starts a family of its own, never joins (or revives) one.
  {
    auto probe = impl_->use(q::family_exists);
    probe.bind(x.family_id);
    auto rc = probe.step();
    if (rc == SQLITE_ROW)
      return "cannot insert a refresh token: family '" + x.family_id +
             "' exists";
    if (rc != SQLITE_DONE)
      return "cannot look up family '" + x.family_id + "': " + probe.error();
  }

  auto ins = impl_->use(q::insert_token);
  ins.bind(x.token_hash).bind(x.family_id).bind(x.client_id).bind(x.subject);
  ins.bind(x.scope).bind(x.resource).bind(x.issued_at).bind(x.expires_at);
  if (!ins.run())
    return insert_error(ins, "insert a refresh token",
                        "a token with this hash exists", x.client_id);
  return tx.commit();
}

std::string store::find_refresh_token(const std::string& token_hash,
                                      std::optional<refresh_token>& out) {
  out.reset();
  if (!is_open())
    return not_open;
  return impl_->find_token(token_hash, out);
}

std::string store::rotate_refresh_token(const std::string& old_hash,
                                        const std::string& client_id,
                                        const successor_token& next,
                                        int64_t now, rotate_result& out) {
  out = rotate_result{};
  if (!is_open())
    return not_open;
  if (next.token_hash.empty())
    return "cannot rotate a refresh token: the successor's hash is empty";
  auto tx = impl_->tx();
  if (auto err = tx.begin(); !err.empty())
    return err;

  // The presented token, as it stands. Every answer but `rotated` and
  // `reused` leaves the database as it was.
  std::optional<refresh_token> old;
  if (auto err = impl_->find_token(old_hash, old); !err.empty())
    return err;
  if (!old) {
    out.status = rotate_status::unknown;
    return {};
  }
  out.old = *old;
  if (old->client_id != client_id) {
    out.status = rotate_status::wrong_client;
    return {};
  }
  if (old->state == token_state::revoked) {
    out.status = rotate_status::revoked;
    return {};
  }

  // A spent token comes back: either its holder or a thief replays it, and
  // the store cannot tell which. Ending the family stops both.
  if (old->state == token_state::spent) {
    if (auto err = impl_->revoke_family(old->family_id, out.revoked);
        !err.empty())
      return err;
    if (auto err = tx.commit(); !err.empty())
      return err;
    out.status = rotate_status::reused;
    return {};
  }
  if (now >= old->expires_at) {
    out.status = rotate_status::expired;
    return {};
  }

  // Spend the token and give the family its successor.
  {
    auto spend = impl_->use(q::spend_token);
    spend.bind(old_hash);
    if (!spend.run())
      return "cannot spend a refresh token: " + spend.error();
  }
  auto ins = impl_->use(q::insert_token);
  ins.bind(next.token_hash).bind(old->family_id).bind(old->client_id);
  ins.bind(old->subject).bind(old->scope).bind(old->resource);
  ins.bind(next.issued_at).bind(next.expires_at);
  if (!ins.run())
    return insert_error(ins, "insert the successor of a refresh token",
                        "a token with the successor's hash exists");
  if (auto err = tx.commit(); !err.empty())
    return err;
  out.status = rotate_status::rotated;
  return {};
}

std::string store::revoke_refresh_token(const std::string& token_hash,
                                        const std::string& client_id,
                                        revoke_status& out) {
  out = revoke_status::unknown;
  if (!is_open())
    return not_open;
  auto tx = impl_->tx();
  if (auto err = tx.begin(); !err.empty())
    return err;
  std::optional<refresh_token> token;
  if (auto err = impl_->find_token(token_hash, token); !err.empty())
    return err;
  if (!token)
    return {};
  if (token->client_id != client_id) {
    out = revoke_status::wrong_client;
    return {};
  }
  size_t revoked = 0;
  if (auto err = impl_->revoke_family(token->family_id, revoked); !err.empty())
    return err;
  if (auto err = tx.commit(); !err.empty())
    return err;
  out = revoke_status::revoked;
  return {};
}

std::string store::revoke_family(const std::string& family_id,
                                 size_t& revoked) {
  revoked = 0;
  if (!is_open())
    return not_open;
  return impl_->revoke_family(family_id, revoked);
}

std::string store::purge_expired_refresh_tokens(int64_t now, size_t& purged) {
  purged = 0;
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::purge_tokens);
  x.bind(now);
  if (!x.run())
    return "cannot purge expired refresh tokens: " + x.error();
  purged = x.changes();
  return {};
}

// -- signing keys -------------------------------------------------------------

std::string store::add_signing_key(const std::string& kid,
                                   const std::string& private_key_pem,
                                   int64_t created_at) {
  if (!is_open())
    return not_open;
  if (kid.empty())
    return "cannot add a signing key: the kid is empty";
  auto x = impl_->use(q::add_key);
  x.bind(kid).bind(private_key_pem).bind(created_at);
  if (!x.run())
    return insert_error(x, "add signing key '" + kid + "'", "the kid is taken");
  return {};
}

std::string store::list_signing_keys(std::vector<stored_key>& out) {
  out.clear();
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::list_keys);
  int rc;
  while ((rc = x.step()) == SQLITE_ROW) {
    stored_key k;
    k.kid = x.text(0);
    k.private_key_pem = x.text(1);
    k.created_at = x.integer(2);
    if (!x.is_null(3))
      k.retired_at = x.integer(3);
    out.push_back(std::move(k));
  }
  if (rc != SQLITE_DONE) {
    out.clear();
    return "cannot list signing keys: " + x.error();
  }
  return {};
}

std::string store::retire_signing_key(const std::string& kid, int64_t at,
                                      bool& found) {
  found = false;
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::retire_key);
  x.bind(kid).bind(at);
  if (!x.run())
    return "cannot retire signing key '" + kid + "': " + x.error();
  found = x.changes() > 0;
  return {};
}

std::string store::delete_retired_signing_keys(int64_t retired_before,
                                               size_t& deleted) {
  deleted = 0;
  if (!is_open())
    return not_open;
  auto x = impl_->use(q::delete_keys);
  x.bind(retired_before);
  if (!x.run())
    return "cannot delete retired signing keys: " + x.error();
  deleted = x.changes();
  return {};
}

} // namespace sb::auth
