// plugins/deployments/sqlite_connection.cc: SQL and the connection's setup.
#include "plugins/deployments/sqlite_connection.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "plugins/deployments/sqlite_schema.h"

namespace ringshard::deployments {
namespace {

// One connection on one thread, so this is never expected to be reached;
// it is here in case something outside the store holds the file (a backup
// tool, an operator's sqlite3 shell) for a moment.
constexpr int kBusyTimeoutMs = 1000;
// The most statuses deployments_in() takes (the IN list has this many
// parameters; unbound ones are NULL and match nothing).
constexpr size_t kMaxStatuses = 5;

constexpr std::string_view kColumns =
    "position, id, name, image, cpu, memory_mib, status, created_at_ms, updated_at_ms";

std::string select_deployments(std::string_view where_and_order) {
  return "SELECT " + std::string(kColumns) + " FROM deployments " + std::string(where_and_order);
}

bool make_directory(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "a/b/" names a/b
  // Parents as the umask makes them; the store's own directory 0700.
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    if (std::filesystem::is_directory(path, ec)) return true;
    error = "deployments data_dir " + dir + " is not a directory";
    return false;
  }
  error = "cannot create deployments data_dir " + dir + ": " + std::strerror(errno);
  return false;
}

}  // namespace

bool SqliteConnection::fail(std::string_view what) {
  return fail_with(sqlite3_extended_errcode(db_), what);
}

bool SqliteConnection::fail_with(int rc, std::string_view what) {
  // A failed bind never reaches the connection's error state, so its
  // message comes from the code.
  const bool connection_knows = (sqlite3_extended_errcode(db_) & 0xff) == (rc & 0xff);
  error_ = "sqlite: " + std::string(what) + ": " +
           (connection_knows ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)) + " (" +
           std::to_string(rc) + ")";
  return false;
}

bool SqliteConnection::fail_step(int rc, std::string_view what) {
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  return fail_with(rc, what);
}

bool SqliteConnection::open(const std::string& data_dir) {
  close();
  if (data_dir.empty()) {
    error_ = "deployments data_dir is empty";
    return false;
  }
  if (!make_directory(data_dir, error_)) return false;
  const std::string path = data_dir + "/deployments.db";
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    error_ = "sqlite: opening " + path + ": " +
             (db_ ? sqlite3_errmsg(db_) : "out of memory");
    close();
    return false;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, kSqliteMaxValueBytes);

  // Exclusive locking before the first WAL access: the store keeps the
  // newest seq and the oldest kept one in memory, which only holds while it
  // is the file's only writer; a second server on the same data_dir fails
  // here (SQLITE_BUSY) instead of corrupting that. It also spares the
  // -shm file (the WAL index lives in the heap).
  // synchronous=FULL: COMMIT returns only after the WAL is fsync'ed, which
  // is what lets a done() report a durable write.
  const char* setup =
      "PRAGMA locking_mode = EXCLUSIVE;"
      "PRAGMA journal_mode = WAL;"
      "PRAGMA synchronous = FULL;";
  if (sqlite3_exec(db_, setup, nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("setting up " + path);
    close();
    return false;
  }
  // journal_mode answers with the mode it got, which is not WAL on a file
  // system without the locking WAL needs.
  {
    SqliteStatement mode;
    std::string got;
    if (mode.prepare(db_, "PRAGMA journal_mode") == SQLITE_OK) {
      SqliteRun run(mode);
      if (run.step() == SQLITE_ROW) got = run.text(0);
    }
    if (got != "wal") {
      error_ = "sqlite: " + path + " is not in WAL mode (journal_mode " + got + ")";
      close();
      return false;
    }
  }
  std::string error;
  if (!migrate_sqlite_schema(db_, error)) {
    error_ = path + ": " + error;
    close();
    return false;
  }
  if (!prepare_all()) {
    close();
    return false;
  }
  return true;
}

bool SqliteConnection::prepare_all() {
  struct Entry {
    SqliteStatement* statement;
    std::string sql;
  };
  const Entry entries[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&insert_deployment_,
       "INSERT INTO deployments (id, name, image, cpu, memory_mib, status, created_at_ms, "
       "updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING"},
      {&find_deployment_, select_deployments("WHERE id = ?1")},
      // No RETURNING: SQLite runs a RETURNING clause as a trigger, which
      // makes the UPDATE a multi-write statement with its own statement
      // journal; update_status_if() reads the row back instead.
      {&update_status_, "UPDATE deployments SET status = ?3, updated_at_ms = ?4 "
                        "WHERE id = ?1 AND status = ?2"},
      {&list_all_, select_deployments("WHERE position > ?1 ORDER BY position LIMIT ?2")},
      {&list_by_status_,
       select_deployments("WHERE status = ?3 AND position > ?1 ORDER BY position LIMIT ?2")},
      {&by_status_,
       select_deployments("WHERE status IN (?1, ?2, ?3, ?4, ?5) ORDER BY position")},
      {&insert_event_,
       "INSERT INTO events (seq, deployment_id, status, timestamp_ms) VALUES (?1, ?2, ?3, ?4)"},
      {&events_after_, "SELECT seq, deployment_id, status, timestamp_ms FROM events "
                       "WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
      {&delete_events_, "DELETE FROM events WHERE seq <= ?1"},
      {&event_range_, "SELECT ifnull(min(seq), 0), ifnull(max(seq), 0) FROM events"},
      {&find_response_,
       "SELECT body_hash, status, body, created_at_ms FROM idempotency WHERE key = ?1"},
      {&store_response_,
       "INSERT OR REPLACE INTO idempotency (key, body_hash, status, body, created_at_ms) "
       "VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&delete_responses_, "DELETE FROM idempotency WHERE created_at_ms < ?1"},
  };
  for (const Entry& e : entries) {
    if (e.statement->prepare(db_, e.sql) != SQLITE_OK) return fail("preparing " + e.sql);
  }
  return true;
}

void SqliteConnection::close() {
  for (SqliteStatement* s :
       {&begin_, &commit_, &rollback_, &insert_deployment_, &find_deployment_, &update_status_,
        &list_all_, &list_by_status_, &by_status_, &insert_event_, &events_after_,
        &delete_events_, &event_range_, &find_response_, &store_response_,
        &delete_responses_}) {
    s->finalize();
  }
  // Every statement is finalized, so this closes (and checkpoints the WAL).
  sqlite3_close(db_);
  db_ = nullptr;
}

bool SqliteConnection::begin() {
  SqliteRun run(begin_);
  return fail_step(run.step(), "BEGIN");
}

bool SqliteConnection::commit() {
  SqliteRun run(commit_);
  return fail_step(run.step(), "COMMIT");
}

void SqliteConnection::rollback() {
  // After some failures (SQLITE_FULL, SQLITE_IOERR, ...) SQLite has already
  // rolled back; a second ROLLBACK would only report "no transaction".
  if (sqlite3_get_autocommit(db_)) return;
  SqliteRun run(rollback_);
  run.step();
}

bool SqliteConnection::read_deployment(const SqliteRun& run, Deployment& d) {
  const auto status = parse_status(run.text(6));
  if (!status) {
    error_ = "sqlite: deployment " + std::string(run.text(1)) + " has an unknown status '" +
             std::string(run.text(6)) + "'";
    return false;
  }
  d.position = run.int64(0);
  d.id = run.text(1);
  d.name = run.text(2);
  d.image = run.text(3);
  d.resources.cpu = run.int64(4);
  d.resources.memory_mib = run.int64(5);
  d.status = *status;
  d.created_at_ms = run.int64(7);
  d.updated_at_ms = run.int64(8);
  return true;
}

bool SqliteConnection::insert_deployment(Deployment& d, bool& inserted) {
  SqliteRun run(insert_deployment_);
  run.bind(1, d.id)
      .bind(2, d.name)
      .bind(3, d.image)
      .bind(4, d.resources.cpu)
      .bind(5, d.resources.memory_mib)
      .bind(6, status_name(d.status))
      .bind(7, d.created_at_ms)
      .bind(8, d.updated_at_ms);
  if (!fail_step(run.step(), "inserting deployment " + d.id)) return false;
  inserted = sqlite3_changes(db_) == 1;
  if (inserted) d.position = sqlite3_last_insert_rowid(db_);
  return true;
}

bool SqliteConnection::find_deployment(std::string_view id, std::optional<Deployment>& out) {
  out.reset();
  SqliteRun run(find_deployment_);
  run.bind(1, id);
  const int rc = run.step();
  if (rc == SQLITE_ROW) return read_deployment(run, out.emplace());
  return fail_step(rc, "reading deployment " + std::string(id));
}

bool SqliteConnection::update_status_if(std::string_view id, Status from, Status to,
                                        int64_t now_ms, std::optional<Deployment>& out) {
  out.reset();
  {
    SqliteRun run(update_status_);
    run.bind(1, id).bind(2, status_name(from)).bind(3, status_name(to)).bind(4, now_ms);
    if (!fail_step(run.step(), "updating deployment " + std::string(id))) return false;
  }
  // id is unique: one row changed, or none (absent, or no longer `from`).
  if (sqlite3_changes(db_) == 0) return true;
  if (!find_deployment(id, out)) return false;
  if (!out) {
    error_ = "sqlite: deployment " + std::string(id) + " vanished after its update";
    return false;
  }
  return true;
}

bool SqliteConnection::list_deployments(int64_t after_position, std::optional<Status> status,
                                        uint32_t limit, std::vector<Deployment>& out) {
  SqliteRun run(status ? list_by_status_ : list_all_);
  run.bind(1, after_position).bind(2, static_cast<int64_t>(limit));
  if (status) run.bind(3, status_name(*status));
  int rc;
  while ((rc = run.step()) == SQLITE_ROW) {
    if (!read_deployment(run, out.emplace_back())) return false;
  }
  return fail_step(rc, "listing deployments");
}

bool SqliteConnection::deployments_in(std::initializer_list<Status> statuses,
                                      std::vector<Deployment>& out) {
  if (statuses.size() > kMaxStatuses) {
    error_ = "deployments_in: more statuses than the statement has parameters";
    return false;
  }
  SqliteRun run(by_status_);
  int index = 0;
  for (Status s : statuses) run.bind(++index, status_name(s));
  int rc;
  while ((rc = run.step()) == SQLITE_ROW) {
    if (!read_deployment(run, out.emplace_back())) return false;
  }
  return fail_step(rc, "listing deployments by status");
}

bool SqliteConnection::insert_event(const Event& e) {
  SqliteRun run(insert_event_);
  run.bind(1, static_cast<int64_t>(e.seq))
      .bind(2, e.deployment_id)
      .bind(3, status_name(e.status))
      .bind(4, e.timestamp_ms);
  return fail_step(run.step(), "appending event " + std::to_string(e.seq));
}

bool SqliteConnection::events_after(uint64_t after_seq, uint32_t limit, std::vector<Event>& out) {
  SqliteRun run(events_after_);
  run.bind(1, static_cast<int64_t>(after_seq)).bind(2, static_cast<int64_t>(limit));
  int rc;
  while ((rc = run.step()) == SQLITE_ROW) {
    const auto status = parse_status(run.text(2));
    if (!status) {
      error_ = "sqlite: event " + std::to_string(run.int64(0)) + " has an unknown status";
      return false;
    }
    out.push_back(Event{static_cast<uint64_t>(run.int64(0)), std::string(run.text(1)), *status,
                        run.int64(3)});
  }
  return fail_step(rc, "reading events");
}

bool SqliteConnection::delete_events_through(uint64_t seq) {
  SqliteRun run(delete_events_);
  run.bind(1, static_cast<int64_t>(seq));
  return fail_step(run.step(), "pruning events");
}

bool SqliteConnection::event_seq_range(uint64_t& lowest, uint64_t& highest) {
  SqliteRun run(event_range_);
  const int rc = run.step();
  if (rc != SQLITE_ROW) return fail_step(rc == SQLITE_DONE ? SQLITE_ERROR : rc, "reading seqs");
  lowest = static_cast<uint64_t>(run.int64(0));
  highest = static_cast<uint64_t>(run.int64(1));
  return true;
}

bool SqliteConnection::find_response(std::string_view key, std::optional<StoredResponse>& out) {
  out.reset();
  SqliteRun run(find_response_);
  run.bind(1, key);
  const int rc = run.step();
  if (rc == SQLITE_ROW) {
    out = StoredResponse{std::string(run.text(0)), static_cast<uint16_t>(run.int64(1)),
                         std::string(run.blob(2)), run.int64(3)};
    return true;
  }
  return fail_step(rc, "reading an idempotency key");
}

bool SqliteConnection::store_response(std::string_view key, std::string_view body_hash,
                                      uint16_t status, std::string_view body,
                                      int64_t created_at_ms) {
  SqliteRun run(store_response_);
  run.bind(1, key).bind(2, body_hash).bind(3, static_cast<int64_t>(status));
  run.bind_blob(4, body).bind(5, created_at_ms);
  return fail_step(run.step(), "storing an idempotency key");
}

bool SqliteConnection::delete_responses_before(int64_t created_at_ms) {
  SqliteRun run(delete_responses_);
  run.bind(1, created_at_ms);
  return fail_step(run.step(), "pruning idempotency keys");
}

}  // namespace ringshard::deployments
