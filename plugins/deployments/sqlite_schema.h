// plugins/deployments/sqlite_schema.h: the SQLite store's schema, as an
// ordered list of migrations. Store-internal: only the sqlite_*.cc files
// include it.
//
// The schema version lives in the file's header (PRAGMA user_version): 0 for
// a new file, N after migration N. A file whose version is newer than this
// build knows is refused, never downgraded or guessed at.
//
// Thread: the control thread, during open(), before the store thread
// starts.
#pragma once

#include <string>

struct sqlite3;

namespace ringshard::deployments {

// The version the newest migration of this build brings a file to.
int sqlite_schema_version();

// Applies, in order and in one transaction (BEGIN IMMEDIATE ... COMMIT),
// every migration newer than the file's user_version, then sets
// user_version. False with `error` set when the file is newer than this
// build, or a statement failed (then nothing of the migration stays).
bool migrate_sqlite_schema(sqlite3* db, std::string& error);

}  // namespace ringshard::deployments
