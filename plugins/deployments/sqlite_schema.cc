// plugins/deployments/sqlite_schema.cc: the migrations. Append only: a
// migration that shipped is never edited (files out there are already at
// its version); a change is a new migration with the next version.
#include "plugins/deployments/sqlite_schema.h"

#include <sqlite3.h>

#include <span>
#include <string_view>

namespace ringshard::deployments {
namespace {

struct Migration {
  int version;
  std::string_view sql;
};

// Statuses are stored by name (status_name()), so reordering the enum
// never reinterprets a file.
//
// deployments.position is the list cursor: AUTOINCREMENT so that a
// position is never reused and new rows only ever appear after every
// existing one. events.seq is assigned by the store (gap-free), not by
// SQLite. idempotency.body is a BLOB: a response body need not be UTF-8.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE deployments (
  position      INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT    NOT NULL UNIQUE,
  name          TEXT    NOT NULL,
  image         TEXT    NOT NULL,
  cpu           INTEGER NOT NULL,
  memory_mib    INTEGER NOT NULL,
  status        TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX deployments_by_status ON deployments (status, position);
CREATE TABLE events (
  seq           INTEGER PRIMARY KEY,
  deployment_id TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  timestamp_ms  INTEGER NOT NULL
);
CREATE TABLE idempotency (
  key           TEXT    PRIMARY KEY,
  body_hash     TEXT    NOT NULL,
  status        INTEGER NOT NULL,
  body          BLOB    NOT NULL,
  created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_by_age ON idempotency (created_at_ms);
)sql"},
};

std::string sqlite_error(sqlite3* db, std::string_view what) {
  return std::string("sqlite: ") + std::string(what) + ": " + sqlite3_errmsg(db);
}

bool exec(sqlite3* db, const std::string& sql, std::string& error, std::string_view what) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) return true;
  error = sqlite_error(db, what);
  return false;
}

bool read_user_version(sqlite3* db, int& version, std::string& error) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (rc == SQLITE_ROW) return true;
  error = sqlite_error(db, "reading the schema version");
  return false;
}

}  // namespace

int sqlite_schema_version() { return std::span(kMigrations).back().version; }

bool migrate_sqlite_schema(sqlite3* db, std::string& error) {
  // The write lock first, so that the version read below is the one the
  // migrations apply to.
  if (!exec(db, "BEGIN IMMEDIATE", error, "starting the migration")) return false;
  int version = 0;
  bool ok = read_user_version(db, version, error);
  if (ok && version > sqlite_schema_version()) {
    error = "deployments database schema version " + std::to_string(version) +
            " is newer than this build knows (" + std::to_string(sqlite_schema_version()) +
            "): refusing to open it; run a newer ringshard";
    ok = false;
  }
  for (const Migration& m : kMigrations) {
    if (!ok || m.version <= version) continue;
    ok = exec(db, std::string(m.sql), error,
              "schema migration " + std::to_string(m.version));
  }
  if (ok && version < sqlite_schema_version()) {
    ok = exec(db, "PRAGMA user_version = " + std::to_string(sqlite_schema_version()), error,
              "setting the schema version");
  }
  if (ok) ok = exec(db, "COMMIT", error, "committing the migration");
  if (!ok && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return ok;
}

}  // namespace ringshard::deployments
