// Opening: the data directory, the schema version, files the store must
// refuse, and what a reopen recovers.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

using Code = StoreOpResult::Code;

std::string db_path(const std::string& dir) { return dir + "/deployments.db"; }

// PRAGMA user_version of a closed store's file, read or written behind its
// back (-1 when it cannot be read).
int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  int version = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return version;
}

bool set_user_version(const std::string& path, int version) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK;
  const std::string sql = "PRAGMA user_version = " + std::to_string(version);
  ok = ok && sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

std::string open_error(const StoreOptions& options) {
  auto store = make_sqlite_store(options);
  std::string error;
  EXPECT_FALSE(store->open(error));
  return error;
}

TEST_F(StoreTest, OpenCreatesAPrivateDataDirectory) {
  StoreOptions options;
  options.data_dir = dir_.path() + "/nested/deeper/data";
  auto store = make_sqlite_store(options);
  std::string error;
  ASSERT_TRUE(store->open(error)) << error;
  struct stat st {};
  ASSERT_EQ(::stat(options.data_dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(::stat(db_path(options.data_dir).c_str(), &st), 0);
}

TEST_F(StoreTest, OpenRefusesADataDirThatIsAFile) {
  const std::string file = dir_.path() + "/file";
  std::ofstream(file) << "x";
  EXPECT_NE(open_error({.data_dir = file}).find("not a directory"), std::string::npos);
}

TEST_F(StoreTest, OpenRefusesAnEmptyDataDir) {
  EXPECT_FALSE(open_error({}).empty());
}

TEST_F(StoreTest, OpenWritesTheSchemaVersion) {
  open_store()->close();
  EXPECT_GE(user_version(db_path(data_dir())), 1);
}

TEST_F(StoreTest, ANewerSchemaIsRefused) {
  open_store()->close();
  const std::string path = db_path(data_dir());
  const int known = user_version(path);
  ASSERT_TRUE(set_user_version(path, known + 1));
  const std::string error = open_error({.data_dir = data_dir()});
  EXPECT_NE(error.find("newer than this build"), std::string::npos) << error;
  EXPECT_EQ(user_version(path), known + 1);  // left as it was
}

TEST_F(StoreTest, AFileThatIsNotADatabaseIsRefused) {
  ASSERT_EQ(::mkdir(data_dir().c_str(), 0700), 0);
  std::ofstream(db_path(data_dir())) << std::string(8192, 'z');
  const std::string error = open_error({.data_dir = data_dir()});
  EXPECT_NE(error.find("not a database"), std::string::npos) << error;
}

TEST_F(StoreTest, ASecondStoreOnTheSameDataDirIsRefused) {
  open_store()->close();  // an existing file: opening it migrates nothing
  auto first = open_store();
  const std::string error = open_error({.data_dir = data_dir()});
  EXPECT_NE(error.find("locked"), std::string::npos) << error;
  // The first is unharmed.
  EXPECT_EQ(run_op(*first, create_op(test_deployment(1))).code, Code::kOk);
}

TEST_F(StoreTest, OpenIsOncePerStore) {
  auto store = open_store();
  std::string error;
  EXPECT_FALSE(store->open(error));
  EXPECT_FALSE(error.empty());
}

TEST_F(StoreTest, AReopenRecoversEverything) {
  {
    auto store = open_store();
    for (int n = 1; n <= 4; ++n) run_op(*store, create_op(test_deployment(n)));
    run_op(*store, transition_op(test_id(2), Status::kPending, Status::kRunning));
    run_op(*store, transition_op(test_id(3), Status::kPending, Status::kFailed));
    run_op(*store, delete_op(test_id(4)));
  }
  auto store = open_store();
  EXPECT_EQ(store->last_seq(), 7u);
  const std::vector<Deployment> all = all_deployments(*store);
  ASSERT_EQ(all.size(), 4u);
  const Status expected[] = {Status::kPending, Status::kRunning, Status::kFailed,
                             Status::kTerminating};
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, test_id(static_cast<int>(i) + 1));
    EXPECT_EQ(all[i].status, expected[i]);
    EXPECT_EQ(all[i].image, test_deployment(static_cast<int>(i) + 1).image);
  }
  EXPECT_EQ(run_op(*store, unfinished_op()).deployments.size(), 3u);
  EXPECT_EQ(run_op(*store, events_op(0)).events.size(), 7u);
}

TEST_F(StoreTest, SeqsContinueGapFreeAcrossAReopen) {
  {
    auto store = open_store();
    for (int n = 1; n <= 3; ++n) run_op(*store, create_op(test_deployment(n)));
  }
  auto store = open_store();
  EXPECT_EQ(store->last_seq(), 3u);
  for (int n = 4; n <= 5; ++n) run_op(*store, create_op(test_deployment(n)));
  const std::vector<Event> events = run_op(*store, events_op(0)).events;
  ASSERT_EQ(events.size(), 5u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
  EXPECT_EQ(store->last_seq(), 5u);
}

TEST_F(StoreTest, PositionsOnlyGrowAcrossAReopen) {
  int64_t before = 0;
  {
    auto store = open_store();
    before = run_op(*store, create_op(test_deployment(1))).deployment->position;
  }
  auto store = open_store();
  EXPECT_GT(run_op(*store, create_op(test_deployment(2))).deployment->position, before);
}

TEST_F(StoreTest, PrunedHistoryStaysGoneAcrossAReopen) {
  StoreOptions options;
  options.history_events = 2;
  {
    auto store = open_store(options);
    for (int n = 1; n <= 5; ++n) run_op(*store, create_op(test_deployment(n)));
  }
  auto store = open_store(options);
  EXPECT_EQ(store->last_seq(), 5u);
  EXPECT_EQ(run_op(*store, events_op(2)).code, Code::kHistoryGone);
  StoreOpResult kept = run_op(*store, events_op(3));
  ASSERT_EQ(kept.events.size(), 2u);
  EXPECT_EQ(kept.events[0].seq, 4u);
}

// history_events = 1 keeps only the newest event, which is still enough
// for numbering to resume after it.
TEST_F(StoreTest, TheNewestEventIsAlwaysKept) {
  StoreOptions options;
  options.history_events = 0;  // treated as 1
  {
    auto store = open_store(options);
    for (int n = 1; n <= 3; ++n) run_op(*store, create_op(test_deployment(n)));
    EXPECT_EQ(run_op(*store, events_op(2)).events.size(), 1u);
  }
  auto store = open_store(options);
  EXPECT_EQ(store->last_seq(), 3u);
  EXPECT_EQ(run_op(*store, create_op(test_deployment(4))).events[0].seq, 4u);
}

}  // namespace
}  // namespace ringshard::deployments::testing
