// sdk/shard.cc: the trampolines of Shard::post, Shard::after and
// Response::defer. Each owns the box its C++ side allocated and frees it
// on its single call (a task or timer runs or is cancelled exactly once;
// see plugin.h).
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

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

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i) {
      char a = n[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      same = a == b;
    }
    if (same) return v;
  }
  return {};
}

bool Shard::fetch(const HttpRequest& request,
                  std::function<void(Shard&, const HttpResponse&)> fn) const {
  // A host older than http_fetch has a table that ends before it.
  if (api_->struct_size < offsetof(rs_host_api, http_fetch) + sizeof(api_->http_fetch) ||
      api_->http_fetch == nullptr) {
    return false;
  }
  std::vector<rs_str> fields;
  fields.reserve(request.headers.size() * 2);
  for (const auto& [name, value] : request.headers) {
    fields.push_back(to_rs(name));
    fields.push_back(to_rs(value));
  }
  rs_http_request r{};
  r.method = to_rs(request.method);
  r.url = to_rs(request.url);
  r.headers = fields.data();
  r.header_count = request.headers.size();
  r.body = to_rs(request.body);
  r.max_body = request.max_body;
  r.timeout_ms = request.timeout_ms;
  auto box = std::make_unique<FetchBox>(FetchBox{api_, std::move(fn)});
  if (api_->http_fetch(s_, &r, &Shard::run_fetch, box.get()) != 0) return false;
  box.release();  // run_fetch owns it now
  return true;
}

void Shard::run_fetch(void* user, rs_shard* s, const rs_http_response* r) {
  std::unique_ptr<FetchBox> box(static_cast<FetchBox*>(user));
  try {
    HttpResponse out;
    out.status = r->status;
    out.headers.reserve(r->header_count);
    for (size_t i = 0; i < r->header_count; ++i) {
      out.headers.emplace_back(std::string_view(r->headers[2 * i].data, r->headers[2 * i].size),
                               std::string_view(r->headers[2 * i + 1].data,
                                                r->headers[2 * i + 1].size));
    }
    out.body = std::string_view(r->body.data, r->body.size);
    out.error = std::string_view(r->error.data, r->error.size);
    out.detail = std::string_view(r->detail.data, r->detail.size);
    Shard shard(box->api, s);
    box->fn(shard, out);
  } catch (...) {
    detail::report_failure(box->api, nullptr, s, "fetch callback",
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
