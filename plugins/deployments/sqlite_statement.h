// plugins/deployments/sqlite_statement.h: a prepared SQLite statement kept
// for the life of its connection, and SqliteRun, one execution of it (bind,
// step, read columns; reset on scope exit). Store-internal: only the
// sqlite_*.cc files include it.
//
// Thread: a statement belongs to its connection and is used by one thread
// at a time (open() and close() on the control thread, everything between
// on the store thread). Allocates nothing per execution.
//
//   SqliteRun run(find_);
//   run.bind(1, id);
//   while (run.step() == SQLITE_ROW) use(run.int64(0), run.text(1));
#pragma once

#include <sqlite3.h>

#include <climits>
#include <cstdint>
#include <string_view>

namespace ringshard::deployments {

class SqliteStatement {
 public:
  SqliteStatement() = default;
  ~SqliteStatement() { finalize(); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // SQLITE_OK, or the error (sqlite3_errmsg(db) says which).
  int prepare(sqlite3* db, std::string_view sql) {
    finalize();
    return sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  void finalize() {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One execution of a statement. Text and blobs are bound without a copy
// (SQLITE_STATIC): what they view must outlive the run. On scope exit the
// statement is reset and its bindings cleared, so it holds no cursor and no
// borrowed memory between runs. A failed bind is remembered and returned by
// the next step(), so callers check one result code.
class SqliteRun {
 public:
  explicit SqliteRun(SqliteStatement& statement) : stmt_(statement.get()) {}
  ~SqliteRun() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  SqliteRun(const SqliteRun&) = delete;
  SqliteRun& operator=(const SqliteRun&) = delete;

  SqliteRun& bind(int index, int64_t value) {
    keep(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  SqliteRun& bind(int index, std::string_view text) {
    if (too_big(text)) return *this;
    keep(sqlite3_bind_text(stmt_, index, not_null(text), static_cast<int>(text.size()),
                           SQLITE_STATIC));
    return *this;
  }
  SqliteRun& bind_blob(int index, std::string_view bytes) {
    if (too_big(bytes)) return *this;
    keep(sqlite3_bind_blob(stmt_, index, not_null(bytes), static_cast<int>(bytes.size()),
                           SQLITE_STATIC));
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() { return bind_error_ != SQLITE_OK ? bind_error_ : sqlite3_step(stmt_); }

  // Columns of the current row. Views stay valid until the next step() or
  // the end of the run.
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string_view text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  std::string_view blob(int column) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
  }

 private:
  // An empty view may have no data pointer, which SQLite would bind as
  // NULL rather than as an empty value.
  static const char* not_null(std::string_view v) { return v.data() ? v.data() : ""; }
  // Past INT_MAX the length would not survive the cast to int.
  bool too_big(std::string_view v) {
    if (v.size() <= static_cast<size_t>(INT_MAX)) return false;
    keep(SQLITE_TOOBIG);
    return true;
  }
  void keep(int rc) {
    if (bind_error_ == SQLITE_OK) bind_error_ = rc;
  }

  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

}  // namespace ringshard::deployments
