// kList's cursor under concurrent creates: a walk through the pages neither
// repeats nor skips a deployment, because a new one only ever gets a
// position after every existing one.
#include <gtest/gtest.h>

#include <atomic>
#include <semaphore>
#include <set>
#include <thread>

#include "tests/deployments/store_test_support.h"

namespace ringshard::deployments::testing {
namespace RS_UNITY_ID {

// Every position the walk returned, checked against the table as it is
// afterwards: strictly increasing (no repeat), and every row at or before
// the last position returned is in it (no skip).
void expect_no_repeat_no_skip(const std::vector<Deployment>& walked,
                              const std::vector<Deployment>& all) {
  ASSERT_FALSE(walked.empty());
  for (size_t i = 1; i < walked.size(); ++i) {
    ASSERT_LT(walked[i - 1].position, walked[i].position) << "repeated or out of order";
  }
  std::set<std::string> seen;
  for (const Deployment& d : walked) seen.insert(d.id);
  for (const Deployment& d : all) {
    if (d.position > walked.back().position) break;
    EXPECT_TRUE(seen.contains(d.id)) << "skipped " << d.id << " at " << d.position;
  }
}

// Deterministic interleaving: three creates between every two pages.
TEST_F(StoreTest, PagingWhileCreatingBetweenPagesNeitherRepeatsNorSkips) {
  auto store = open_store();
  int next = 0;
  for (; next < 20; ++next) run_op(*store, create_op(test_deployment(next)));
  std::vector<Deployment> walked;
  int64_t after = 0;
  do {
    StoreOpResult page = run_op(*store, list_op(after, 4));
    walked.insert(walked.end(), page.deployments.begin(), page.deployments.end());
    after = page.next_position;
    for (int i = 0; i < 3; ++i, ++next) run_op(*store, create_op(test_deployment(next)));
  } while (after != 0);
  // Creating faster than it pages, the walk only ends once it has caught
  // up: it saw everything created before its last page.
  EXPECT_GE(walked.size(), 20u);
  expect_no_repeat_no_skip(walked, all_deployments(*store));
}

// Real concurrency: a creator thread keeps up to 32 creates in flight
// while the main thread pages with a small limit and a status filter.
TEST_F(StoreTest, PagingUnderConcurrentCreatesNeitherRepeatsNorSkips) {
  auto store = open_store();
  for (int n = 0; n < 50; ++n) run_op(*store, create_op(test_deployment(n)));
  std::atomic<bool> stop{false};
  std::counting_semaphore<32> slots(32);
  std::thread creator([&] {
    for (int n = 50; !stop.load() && n < 5000; ++n) {
      slots.acquire();
      auto r = request_of(create_op(test_deployment(n)));
      r->done = [&](std::unique_ptr<StoreRequest>) { slots.release(); };
      store->submit(std::move(r));
    }
  });
  std::vector<Deployment> walked, walked_pending;
  for (auto [out, filter] : {std::pair{&walked, std::optional<Status>{}},
                             {&walked_pending, std::optional<Status>{Status::kPending}}}) {
    int64_t after = 0;
    do {
      StoreOpResult page = run_op(*store, list_op(after, 7, filter));
      out->insert(out->end(), page.deployments.begin(), page.deployments.end());
      after = page.next_position;
    } while (after != 0);
  }
  stop = true;
  creator.join();
  store->close();  // every create in flight lands

  auto reopened = open_store();
  const std::vector<Deployment> all = all_deployments(*reopened);
  expect_no_repeat_no_skip(walked, all);
  expect_no_repeat_no_skip(walked_pending, all);  // every row is pending here
  EXPECT_GE(walked.size(), 50u);
}

}  // namespace
}  // namespace ringshard::deployments::testing
