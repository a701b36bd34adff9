// ws/deflate.h: permessage-deflate (RFC 7692) with zlib: negotiation of the
// extension parameters, and the per-connection compressor and decompressor.
//
//   DeflateOffer offer = negotiate_deflate(extension_offers(req), config);
//   if (offer.error) -> 400 (malformed header)
//   if (offer.accepted) -> send offer.response in Sec-WebSocket-Extensions
//   Deflater out(offer.params, config);  Inflater in(offer.params, config);
//
// Negotiation (RFC 7692 section 7.1): offers are tried in order; the first
// permessage-deflate offer whose parameters are valid and acceptable wins;
// an offer with an unknown parameter, a repeated parameter or a bad value
// is declined (not an error), and the next is tried. Parameters:
//   server_no_context_takeover  accepted; also imposed when the config asks
//   client_no_context_takeover  accepted (and echoed) when offered or when the
//                               config asks
//   server_max_window_bits=N    8..15; we use min(N, config)
//   client_max_window_bits[=N]  without a value: we may name one (config);
//                               with one: 8..15, we use min(N, config);
//                               absent: the client's window stays 15, so
//                               our inflater uses 15
// Note: zlib cannot make a raw deflate stream with window bits 8; a
// negotiated 8 is run as 9 for compression (always decodable by a peer
// with a 9+ window... so we only accept server_max_window_bits >= 9 and
// decline an offer asking for 8) and as 8..15 for decompression as
// negotiated... see deflate.cc for the exact rule.
//
// Deflater/Inflater allocate their zlib state lazily (first message) and,
// with no context takeover, release it after each message, so an idle
// connection holds no zlib memory. Memory per connection with context
// takeover: about (1 << (window_bits + 2)) + (1 << (mem_level + 9)) for
// the deflater and (1 << window_bits) + ~7 KiB for the inflater.
//
// Thread: one object per connection, its shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringshard::ws {

struct DeflateConfig {
  bool enabled = true;                  // offer acceptance at all
  uint8_t server_max_window_bits = 15;  // our compression window, 9..15
  uint8_t client_max_window_bits = 15;  // the window we ask clients to use, 8..15
  bool server_no_context_takeover = false;  // impose it even if not offered
  bool client_no_context_takeover = false;  // ask for it even if not offered
  int mem_level = 8;                    // zlib memLevel 1..9 for the deflater
  int level = 1;                        // zlib compression level 0..9
  size_t min_size = 64;                 // messages shorter than this go uncompressed
};

struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  uint8_t server_max_window_bits = 15;
  uint8_t client_max_window_bits = 15;
};

struct DeflateOffer {
  bool accepted = false;
  bool error = false;          // the header itself is malformed (400)
  std::string_view reason;     // for error
  DeflateParams params;
  std::string response;        // the Sec-WebSocket-Extensions value to send
};

DeflateOffer negotiate_deflate(std::string_view offers, const DeflateConfig& config);

enum class InflateStatus : uint8_t { kOk, kTooBig, kCorrupt };

class Deflater {
 public:
  Deflater(const DeflateParams& params, const DeflateConfig& config);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Compresses one whole message; appends the payload to send (RSV1 set,
  // the trailing 00 00 ff ff removed) to `out`. False only if zlib fails
  // (out of memory): send the message uncompressed then.
  bool compress(std::string_view message, std::string& out);
  // Bytes of zlib state held now (0 when released).
  size_t memory() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  DeflateParams params_;
  int level_;
  int mem_level_;
};

class Inflater {
 public:
  Inflater(const DeflateParams& params, const DeflateConfig& config);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Decompresses the next piece of a compressed message, appending to
  // `out`. kTooBig once out would exceed `max_size` bytes in all (close
  // 1009); kCorrupt on invalid deflate data (close 1007).
  InflateStatus feed(std::string_view piece, std::string& out, size_t max_size);
  // The message ended: feeds the 00 00 ff ff tail, and resets (or
  // releases) the window under client_no_context_takeover.
  InflateStatus finish(std::string& out, size_t max_size);
  size_t memory() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  DeflateParams params_;
};

}  // namespace ringshard::ws
