#include "http/accept_encoding.h"

#include "http/chars.h"

namespace ringshard::http {
namespace {

// Reads a qvalue at [p, end); returns the byte after it and the weight in
// thousandths, or nullptr when it is not a qvalue.
const char* parse_qvalue(const char* p, const char* end, int16_t& q) {
  if (p == end || (*p != '0' && *p != '1')) return nullptr;
  const bool one = *p == '1';
  ++p;
  int value = one ? 1000 : 0;
  if (p < end && *p == '.') {
    ++p;
    int scale = 100;
    for (int i = 0; i < 3 && p < end && chars::is_digit(*p); ++i, ++p) {
      if (one && *p != '0') return nullptr;
      value += (*p - '0') * scale;
      scale /= 10;
    }
  }
  q = static_cast<int16_t>(value);
  return p;
}

const char* skip_ows(const char* p, const char* end) {
  while (p < end && chars::is_ows(*p)) ++p;
  return p;
}

// One list element starting at p: the coding name and its weight. Returns
// where the element ends (at ',' or end); `ok` false when it is malformed.
const char* parse_element(const char* p, const char* end, std::string_view& name,
                          int16_t& q, bool& ok) {
  ok = false;
  const char* s = p;
  while (p < end && chars::is_tchar(*p)) ++p;
  name = std::string_view(s, static_cast<size_t>(p - s));
  q = 1000;
  auto bail = [&] {
    while (p < end && *p != ',') ++p;
    return p;
  };
  if (name.empty()) return bail();
  p = skip_ows(p, end);
  if (p < end && *p == ';') {
    p = skip_ows(p + 1, end);
    if (p == end || (*p | 0x20) != 'q') return bail();
    p = skip_ows(p + 1, end);
    if (p == end || *p != '=') return bail();
    p = parse_qvalue(skip_ows(p + 1, end), end, q);
    if (p == nullptr) {
      p = s;  // restart the skip from a byte we know is inside the element
      return bail();
    }
    p = skip_ows(p, end);
  }
  if (p < end && *p != ',') return bail();
  ok = true;
  return p;
}

}  // namespace

AcceptEncoding parse_accept_encoding(std::string_view value) {
  AcceptEncoding a;
  const char* p = value.data();
  const char* end = p + value.size();
  while (p < end) {
    if (*p == ',' || chars::is_ows(*p)) {  // empty elements are allowed
      ++p;
      continue;
    }
    std::string_view name;
    int16_t q = 0;
    bool ok = false;
    p = parse_element(p, end, name, q, ok);
    if (!ok) continue;
    int16_t* slot = nullptr;
    if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
      slot = &a.gzip;
    } else if (iequals(name, "br")) {
      slot = &a.br;
    } else if (iequals(name, "identity")) {
      slot = &a.identity;
    } else if (name == "*") {
      slot = &a.star;
    }
    if (slot != nullptr && *slot < 0) *slot = q;
  }
  return a;
}

Coding choose_encoding(const AcceptEncoding& a, bool brotli_enabled) {
  auto weight = [&](int16_t q) -> int { return q >= 0 ? q : (a.star >= 0 ? a.star : 0); };
  const int br = brotli_enabled ? weight(a.br) : 0;
  const int gzip = weight(a.gzip);
  Coding best = Coding::kIdentity;
  int best_q = 0;
  if (br > 0) {
    best = Coding::kBrotli;
    best_q = br;
  }
  if (gzip > best_q) {
    best = Coding::kGzip;
    best_q = gzip;
  }
  if (best == Coding::kIdentity) return best;
  const int identity = a.identity >= 0 ? a.identity : a.star;  // -1: unlisted
  return identity > best_q ? Coding::kIdentity : best;
}

Coding choose_encoding(std::string_view accept_encoding, bool brotli_enabled) {
  return choose_encoding(parse_accept_encoding(accept_encoding), brotli_enabled);
}

std::string_view coding_name(Coding c) {
  switch (c) {
    case Coding::kGzip:
      return "gzip";
    case Coding::kBrotli:
      return "br";
    case Coding::kIdentity:
      break;
  }
  return "identity";
}

}  // namespace ringshard::http
