#include "tests/support/ws_client.h"

#include <random>

#include "ws/handshake.h"

namespace ringshard::test {

std::string make_ws_key() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::random_device rd;
  std::string key;
  for (int i = 0; i < 21; ++i) key += kAlphabet[rd() % 64];
  // 16 bytes: 21 characters of 6 bits, one carrying the last 2 bits (its
  // low 4 bits zero), then the padding.
  key += "AQgw"[rd() % 4];
  key += "==";
  return key;
}

// Turns the reader's events into WsMessages.
class WsTestClient::Collector final : public ws::FrameReader::Sink {
 public:
  Collector(WsTestClient& c, std::deque<WsMessage>& out) : c_(c), out_(out) {}
  bool on_message_begin(ws::Opcode op, bool compressed) override {
    cur_ = WsMessage{};
    cur_.opcode = op;
    cur_.compressed = compressed;
    return true;
  }
  bool on_message_data(std::span<char> data) override {
    if (cur_.compressed) {
      if (c_.inflater_ == nullptr ||
          c_.inflater_->feed({data.data(), data.size()}, cur_.data, c_.max_message_) !=
              ws::InflateStatus::kOk) {
        bad_ = "server sent bad compressed data";
        return false;
      }
    } else {
      cur_.data.append(data.data(), data.size());
    }
    return true;
  }
  bool on_message_end() override {
    if (cur_.compressed &&
        c_.inflater_->finish(cur_.data, c_.max_message_) != ws::InflateStatus::kOk) {
      bad_ = "server sent bad compressed data";
      return false;
    }
    out_.push_back(std::move(cur_));
    return true;
  }
  bool on_control(ws::Opcode op, std::span<char> payload) override {
    WsMessage m;
    m.opcode = op;
    if (op == ws::Opcode::kClose) {
      m.close_code = ws::close_code::kNoStatus;
      if (payload.size() >= 2) {
        m.close_code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                             static_cast<uint8_t>(payload[1]));
        m.data.assign(payload.data() + 2, payload.size() - 2);
      }
    } else {
      m.data.assign(payload.data(), payload.size());
    }
    out_.push_back(std::move(m));
    return true;
  }
  std::string bad_;

 private:
  WsTestClient& c_;
  std::deque<WsMessage>& out_;
  WsMessage cur_;
};


WsTestClient::WsTestClient(uint16_t port, const std::string& path, const WsClientOptions& opts)
    : conn_(port, opts.timeout_ms), max_message_(opts.max_message) {
  if (!conn_.ok()) {
    error_ = "connect failed";
    return;
  }
  if (opts.tls && !conn_.start_tls()) {
    error_ = "tls handshake failed: " + conn_.error();
    return;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                    make_ws_key() + "\r\n";
  std::string ext = opts.extensions;
  if (ext.empty() && opts.deflate) ext = "permessage-deflate; client_max_window_bits";
  if (!ext.empty()) req += "Sec-WebSocket-Extensions: " + ext + "\r\n";
  if (!opts.protocols.empty()) {
    req += "Sec-WebSocket-Protocol: ";
    for (size_t i = 0; i < opts.protocols.size(); ++i) {
      if (i) req += ", ";
      req += opts.protocols[i];
    }
    req += "\r\n";
  }
  for (const std::string& h : opts.extra_headers) req += h + "\r\n";
  req += "\r\n";
  if (!conn_.send(req)) {
    error_ = "send failed";
    return;
  }
  auto resp = conn_.read_response();
  if (!resp) {
    error_ = "no handshake response: " + conn_.error();
    return;
  }
  handshake_ = *resp;
  if (resp->status != 101) {
    error_ = "handshake answered " + std::to_string(resp->status) + ": " + resp->body;
    return;
  }
  const std::string accepted = resp->header("sec-websocket-extensions");
  ws::ReaderLimits limits;
  limits.expect_masked = false;
  limits.max_frame_bytes = opts.max_message;
  limits.max_message_bytes = opts.max_message;
  if (!accepted.empty()) {
    ws::DeflateConfig cfg;
    ws::DeflateParams server_view;
    if (!ws::parse_deflate_response(accepted, server_view)) {
      error_ = "cannot read the server's extension response: " + accepted;
      return;
    }
    ws::DeflateParams mine = server_view;
    std::swap(mine.server_no_context_takeover, mine.client_no_context_takeover);
    std::swap(mine.server_max_window_bits, mine.client_max_window_bits);
    deflater_ = std::make_unique<ws::Deflater>(mine, cfg);
    inflater_ = std::make_unique<ws::Inflater>(mine, cfg);
    limits.allow_compressed = true;
  }
  reader_ = std::make_unique<ws::FrameReader>(limits);
  ok_ = true;
}

bool WsTestClient::send_frame(ws::Opcode op, std::string_view payload, bool fin, bool rsv1,
                              bool mask, uint8_t extra_rsv) {
  uint8_t key[4];
  for (uint8_t& k : key) k = static_cast<uint8_t>(rng_());
  std::string frame(ws::kMaxHeaderBytes, '\0');
  const size_t h = ws::encode_header(frame.data(), op, payload.size(), fin, rsv1,
                                     mask ? key : nullptr);
  frame.resize(h);
  frame[0] = static_cast<char>(static_cast<uint8_t>(frame[0]) | (extra_rsv & 0x70));
  const size_t start = frame.size();
  frame.append(payload);
  if (mask) ws::apply_mask(frame.data() + start, payload.size(), key, 0);
  return conn_.send(frame);
}

bool WsTestClient::send_message(ws::Opcode op, std::string_view payload, bool compress) {
  if (compress && deflater_ != nullptr) {
    std::string out;
    if (!deflater_->compress(payload, out)) return false;
    return send_frame(op, out, true, true);
  }
  return send_frame(op, payload);
}

bool WsTestClient::close(uint16_t code, std::string_view reason) {
  char body[125];
  const size_t n = ws::encode_close_payload(body, code, reason);
  return send_frame(ws::Opcode::kClose, std::string_view(body, n));
}

std::optional<WsMessage> WsTestClient::read_message() {
  std::deque<WsMessage>& q = queue_;
  Collector sink(*this, q);
  while (q.empty()) {
    if (!in_.empty()) {
      const size_t used = reader_->feed(std::span<char>(in_.data(), in_.size()), sink);
      in_.erase(0, used);
      if (reader_->failed()) {
        error_ = "server sent an invalid frame: " + std::string(reader_->error().reason);
        return std::nullopt;
      }
      if (!sink.bad_.empty()) {
        error_ = sink.bad_;
        return std::nullopt;
      }
      if (!q.empty()) break;
    }
    if (!conn_.read_some(in_)) {
      error_ = "read: " + conn_.error();
      return std::nullopt;
    }
  }
  WsMessage m = std::move(q.front());
  q.pop_front();
  return m;
}

std::string WsTestClient::read_data() {
  auto m = read_message();
  return m ? std::move(m->data) : "<no message: " + error_ + ">";
}

uint16_t WsTestClient::read_close_code() {
  while (auto m = read_message()) {
    if (m->opcode == ws::Opcode::kClose) return m->close_code;
  }
  return 0;
}

}  // namespace ringshard::test
