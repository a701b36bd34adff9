// plugins/deployments/sqlite_connection.h: the store's one SQLite
// connection: opening (directory, pragmas, migrations), transactions, and
// each SQL statement the store runs, prepared once at open and kept until
// close. Rows in, Deployment/Event values out; what an operation MEANS
// (which statuses a delete moves, idempotency, seq numbering) is the
// store's (sqlite_store.cc), not this file's.
//
// Store-internal: only the sqlite_*.cc files include it.
//
// Thread: open() and close() on the control thread, every other call on the
// store thread; never two threads at once (the connection is opened
// SQLITE_OPEN_NOMUTEX). Every call that returns bool returns false on an
// SQLite failure, with error() saying what failed; the caller then rolls
// the transaction back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/deployments/deployment.h"
#include "plugins/deployments/sqlite_statement.h"

namespace ringshard::deployments {

// Any one value (a field, a stored body) past this fails its statement
// with SQLITE_TOOBIG, and so its transaction.
inline constexpr int kSqliteMaxValueBytes = 16 << 20;

// What the idempotency table holds for a key.
struct StoredResponse {
  std::string body_hash;
  uint16_t status = 0;
  std::string body;
  int64_t created_at_ms = 0;
};

class SqliteConnection {
 public:
  SqliteConnection() = default;
  ~SqliteConnection() { close(); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Creates data_dir (mode 0700) when missing, opens data_dir/deployments.db
  // with an exclusive lock (one process per data_dir), WAL and
  // synchronous=FULL, migrates the schema and prepares every statement.
  bool open(const std::string& data_dir);
  void close();
  const std::string& error() const { return error_; }

  bool begin();   // BEGIN IMMEDIATE
  bool commit();  // COMMIT
  // Undoes the open transaction, if any (a failed COMMIT may have ended it
  // already). Cannot fail in a way the caller could act on.
  void rollback();

  // Inserts `d` unless its id is already stored. inserted=false: the id
  // exists, nothing written. On insert, d.position is assigned.
  bool insert_deployment(Deployment& d, bool& inserted);
  bool find_deployment(std::string_view id, std::optional<Deployment>& out);
  // Sets status `to` and updated_at_ms when the status is still `from`;
  // out: the updated row, or nullopt when nothing matched.
  bool update_status_if(std::string_view id, Status from, Status to, int64_t now_ms,
                        std::optional<Deployment>& out);
  // Up to `limit` rows with position > after_position (and the status
  // when set), by position; appended to out.
  bool list_deployments(int64_t after_position, std::optional<Status> status, uint32_t limit,
                        std::vector<Deployment>& out);
  // Rows whose status is one of `statuses`, by position; appended to out.
  bool deployments_in(std::initializer_list<Status> statuses, std::vector<Deployment>& out);

  bool insert_event(const Event& e);
  bool events_after(uint64_t after_seq, uint32_t limit, std::vector<Event>& out);
  bool delete_events_through(uint64_t seq);
  // Lowest and highest seq stored; both 0 when there is none.
  bool event_seq_range(uint64_t& lowest, uint64_t& highest);

  bool find_response(std::string_view key, std::optional<StoredResponse>& out);
  // Stores (or replaces an expired) key's response.
  bool store_response(std::string_view key, std::string_view body_hash, uint16_t status,
                      std::string_view body, int64_t created_at_ms);
  bool delete_responses_before(int64_t created_at_ms);

 private:
  bool prepare_all();
  bool fail(std::string_view what);
  bool fail_with(int rc, std::string_view what);
  bool fail_step(int rc, std::string_view what);
  bool read_deployment(const SqliteRun& run, Deployment& d);

  sqlite3* db_ = nullptr;
  std::string error_;
  SqliteStatement begin_, commit_, rollback_;
  SqliteStatement insert_deployment_, find_deployment_, update_status_;
  SqliteStatement list_all_, list_by_status_, by_status_;
  SqliteStatement insert_event_, events_after_, delete_events_, event_range_;
  SqliteStatement find_response_, store_response_, delete_responses_;
};

}  // namespace ringshard::deployments
