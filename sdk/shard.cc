// sdk/shard.cc: the trampolines of Shard::post, Shard::after and
// Response::defer. Each owns the box its C++ side allocated and frees it
// on its single call (a task or timer runs or is cancelled exactly once;
// see plugin.h).
#include <memory>

#include "ringshard/plugin.hpp"
#include "sdk/boxes.h"

namespace ringshard::plugin {

void Shard::run_task(void* user, rs_shard* s) {
  std::unique_ptr<TaskBox> box(static_cast<TaskBox*>(user));
  try {
    if (s == nullptr) {
      box->fn(nullptr);
    } else {
      Shard shard(box->api, s);
      box->fn(&shard);
    }
  } catch (...) {
    detail::report_failure(box->api, nullptr, s, "posted task",
                           detail::current_exception_message());
  }
}

void Shard::run_timer(void* user, rs_shard* s) {
  std::unique_ptr<TimerBox> box(static_cast<TimerBox*>(user));
  if (s == nullptr) return;  // cancelled: the box goes, `fn` never runs
  try {
    Shard shard(box->api, s);
    box->fn(shard);
  } catch (...) {
    detail::report_failure(box->api, nullptr, s, "timer", detail::current_exception_message());
  }
}

namespace {

void abort_trampoline(void* user, rs_abort_reason reason) {
  auto* fn = static_cast<Async::AbortFn*>(user);
  try {
    (*fn)(reason);
  } catch (...) {
    // No plugin handle to report through; the request is over anyway.
  }
}

}  // namespace

Async Response::defer(uint32_t timeout_ms, std::function<void(rs_abort_reason)> on_abort) {
  std::unique_ptr<Async::AbortFn> fn;
  if (on_abort) fn = std::make_unique<Async::AbortFn>(std::move(on_abort));
  rs_async* a = api_->defer(r_, timeout_ms, fn ? &abort_trampoline : nullptr, fn.get());
  if (a == nullptr) return Async();
  return Async(api_, a, std::move(fn));
}

}  // namespace ringshard::plugin
