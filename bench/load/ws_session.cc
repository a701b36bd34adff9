#include "bench/load/ws_session.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

#include "bench/load/request_encoder.h"

namespace ringshard::load {

namespace {

std::string base64(const uint8_t* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) |
                       (i + 2 < n ? uint32_t{p[i + 2]} : 0);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

}  // namespace

WsUpgrade make_upgrade(const LoadOptions& o) {
  WsUpgrade up;
  std::random_device rd;
  uint8_t key[16];
  for (uint8_t& k : key) k = static_cast<uint8_t>(rd());
  // A zero key would make masking a no-op: a server could not tell, but
  // keep the frames honest.
  do {
    for (uint8_t& m : up.mask) m = static_cast<uint8_t>(rd());
  } while ((up.mask[0] | up.mask[1] | up.mask[2] | up.mask[3]) == 0);
  const std::string key64 = base64(key, sizeof(key));
  ws::accept_value(key64, up.accept);
  std::string& r = up.request;
  r = "GET " + o.path + " HTTP/1.1\r\n";
  // A --header Host replaces the URL's, as for HTTP requests.
  if (find_header(o.headers, "host").data() == nullptr) r += "Host: " + host_header_value(o) + "\r\n";
  r += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
       "Sec-WebSocket-Key: " + key64 + "\r\n";
  // What browsers offer.
  if (o.ws_deflate) r += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  for (const std::string& h : o.headers) r += h + "\r\n";
  r += "\r\n";
  return up;
}

void WsHandshakeReader::reset() {
  parser_.reset();
  head_.clear();
  params_ = {};
  deflate_ = false;
}

WsHandshakeReader::Outcome WsHandshakeReader::feed(std::string_view in, const WsUpgrade& up,
                                                   bool deflate_offered,
                                                   http::ParsedResponse& r) {
  Outcome o;
  std::string_view data = in;
  const size_t carried = head_.size();
  if (carried > 0) {
    head_.append(in);
    data = head_;
  }
  const http::ParseResult pr = parser_.parse(data, r);
  if (pr.status == http::ParseStatus::kError) {
    o.status = Status::kError;
    o.error = "malformed upgrade response";
    return o;
  }
  if (pr.status == http::ParseStatus::kPartial) {
    if (carried == 0) head_.assign(in);
    o.consumed = in.size();
    return o;
  }
  o.consumed = pr.consumed - carried;
  o.status = Status::kError;
  if (r.status != 101) {
    o.error = "upgrade refused (status is not 101)";
  } else if (r.header("sec-websocket-accept") != std::string_view(up.accept, ws::kAcceptSize)) {
    o.error = "wrong Sec-WebSocket-Accept";
  } else if (const std::string_view ext = r.header("sec-websocket-extensions"); !ext.empty()) {
    ws::DeflateParams p;
    if (!deflate_offered || !ws::parse_deflate_response(ext, p)) {
      o.error = "unexpected Sec-WebSocket-Extensions";
    } else {
      std::swap(p.server_no_context_takeover, p.client_no_context_takeover);
      std::swap(p.server_max_window_bits, p.client_max_window_bits);
      params_ = p;
      deflate_ = true;
      o.status = Status::kDone;
    }
  } else {
    o.status = Status::kDone;
  }
  head_.clear();
  head_.shrink_to_fit();
  return o;
}

WsFramer::WsFramer(const uint8_t mask[4]) { std::memcpy(mask_, mask, 4); }

std::string_view WsFramer::frame(ws::Opcode op, std::string_view payload, ws::Deflater* deflater) {
  bool rsv1 = false;
  if (deflater != nullptr) {
    deflated_.clear();
    if (deflater->compress(payload, deflated_)) {
      payload = deflated_;
      rsv1 = true;
    }
  }
  frame_.resize(ws::kMaxHeaderBytes + payload.size());
  const size_t h = ws::encode_header(frame_.data(), op, payload.size(), true, rsv1, mask_);
  std::memcpy(frame_.data() + h, payload.data(), payload.size());
  ws::apply_mask(frame_.data() + h, payload.size(), mask_, 0);
  return std::string_view(frame_.data(), h + payload.size());
}

double process_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return -1;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name may hold spaces and parentheses: fields count from
  // the last ')'. After it: state, ppid, pgrp, session, tty_nr, tpgid,
  // flags, minflt, cminflt, majflt, cmajflt, utime, stime.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return -1;
  unsigned long long ut = 0, st = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
    return -1;
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace ringshard::load
