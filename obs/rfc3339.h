// obs/rfc3339.h: RFC 3339 UTC timestamps with milliseconds, for log lines.
//
//   char buf[kRfc3339Len];
//   format_rfc3339_ms(1714566896789, buf);  // "2024-05-01T12:34:56.789Z"
//   int64_t ms = unix_now_ms();             // CLOCK_REALTIME, no syscall (vDSO)
//
// Pure arithmetic (days-to-civil), no gmtime_r, no locale, no allocation:
// cheap enough for one call per access-log line. Any thread. Covers years
// 1970..9999; times before the epoch are clamped to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

namespace ringshard::obs {

inline constexpr size_t kRfc3339Len = 24;  // "YYYY-MM-DDTHH:MM:SS.mmmZ"

// Writes exactly kRfc3339Len bytes to out (no terminating NUL).
inline void format_rfc3339_ms(int64_t unix_ms, char* out) {
  if (unix_ms < 0) unix_ms = 0;
  const int64_t ms = unix_ms % 1000;
  const int64_t secs = unix_ms / 1000;
  const int64_t days = secs / 86400;
  const int64_t sod = secs % 86400;
  // Howard Hinnant's civil_from_days, for days since 1970-01-01 >= 0.
  const int64_t z = days + 719468;
  const int64_t era = z / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  auto put = [](char* p, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(out, year, 4);
  out[4] = '-';
  put(out + 5, month, 2);
  out[7] = '-';
  put(out + 8, day, 2);
  out[10] = 'T';
  put(out + 11, sod / 3600, 2);
  out[13] = ':';
  put(out + 14, sod / 60 % 60, 2);
  out[16] = ':';
  put(out + 17, sod % 60, 2);
  out[19] = '.';
  put(out + 20, ms, 3);
  out[23] = 'Z';
}

inline int64_t unix_now_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace ringshard::obs
