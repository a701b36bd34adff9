// plugins/deployments/model_render.cc: deployment, list and event JSON.
#include "plugins/deployments/model_render.h"

#include <algorithm>
#include <chrono>

#include "plugins/deployments/json_writer.h"

namespace ringshard::deployments {
namespace {

// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix ms.
constexpr int64_t kMinRfc3339Ms = -62'167'219'200'000;
constexpr int64_t kMaxRfc3339Ms = 253'402'300'799'999;

void append_digits(std::string& out, int64_t v, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<size_t>(width));
}

// The timestamp as a JSON string value: RFC 3339 needs no escaping.
void write_time(JsonWriter& w, int64_t unix_ms) {
  std::string& out = w.raw_value();
  out += '"';
  append_rfc3339(out, unix_ms);
  out += '"';
}

void write_deployment(JsonWriter& w, const Deployment& d) {
  w.begin_object();
  w.key("id").string(d.id);
  w.key("name").string(d.name);
  w.key("image").string(d.image);
  w.key("resources").begin_object();
  w.key("cpu").integer(d.resources.cpu);
  w.key("memory").integer(d.resources.memory_mib);
  w.end_object();
  w.key("status").string(status_name(d.status));
  w.key("created_at");
  write_time(w, d.created_at_ms);
  w.key("updated_at");
  write_time(w, d.updated_at_ms);
  w.end_object();
}

}  // namespace

void append_rfc3339(std::string& out, int64_t unix_ms) {
  using namespace std::chrono;
  unix_ms = std::clamp(unix_ms, kMinRfc3339Ms, kMaxRfc3339Ms);
  const sys_time<milliseconds> t{milliseconds{unix_ms}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> tod{t - day};
  append_digits(out, static_cast<int>(ymd.year()), 4);
  out += '-';
  append_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out += '-';
  append_digits(out, static_cast<unsigned>(ymd.day()), 2);
  out += 'T';
  append_digits(out, tod.hours().count(), 2);
  out += ':';
  append_digits(out, tod.minutes().count(), 2);
  out += ':';
  append_digits(out, tod.seconds().count(), 2);
  out += '.';
  append_digits(out, tod.subseconds().count(), 3);
  out += 'Z';
}

std::string format_rfc3339(int64_t unix_ms) {
  std::string out;
  out.reserve(24);
  append_rfc3339(out, unix_ms);
  return out;
}

void append_deployment(std::string& out, const Deployment& d) {
  JsonWriter w(out);
  write_deployment(w, d);
}

std::string render_deployment(const Deployment& d) {
  std::string out;
  out.reserve(256 + d.image.size());
  append_deployment(out, d);
  return out;
}

std::string render_list(const std::vector<Deployment>& page, std::string_view next_cursor) {
  std::string out;
  out.reserve(64 + page.size() * 300);
  JsonWriter w(out);
  w.begin_object().key("deployments").begin_array();
  for (const Deployment& d : page) write_deployment(w, d);
  w.end_array().key("next_cursor");
  if (next_cursor.empty()) {
    w.null();
  } else {
    w.string(next_cursor);
  }
  w.end_object();
  return out;
}

std::string render_event(const Event& e) {
  std::string out;
  out.reserve(160);
  JsonWriter w(out);
  w.begin_object();
  w.key("type").string("deployment.update");
  w.key("deployment_id").string(e.deployment_id);
  w.key("status").string(status_name(e.status));
  w.key("timestamp");
  write_time(w, e.timestamp_ms);
  w.key("seq").uinteger(e.seq);
  w.end_object();
  return out;
}

std::string render_health(std::string_view version, int64_t uptime_seconds) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("status").string("healthy");
  w.key("version").string(version);
  w.key("uptime").integer(uptime_seconds < 0 ? 0 : uptime_seconds);
  w.end_object();
  return out;
}

}  // namespace ringshard::deployments
