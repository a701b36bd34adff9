// ws/deflate.h: permessage-deflate (RFC 7692) with zlib: negotiation of the
// extension parameters, and the per-connection compressor and decompressor.
//
//   DeflateOffer offer = negotiate_deflate(extension_offers(req), config);
//   if (offer.error) -> 400 (malformed header)
//   if (offer.accepted) -> send offer.response in Sec-WebSocket-Extensions
//   Deflater out(offer.params, config);  Inflater in(offer.params, config);
//
// Roles: DeflateParams are the server's view. server_* describe what our
// Deflater sends, client_* what our Inflater receives.
//
// Negotiation (RFC 7692 section 7.1). The header is parsed as RFC 6455 9.1
// says: a comma list of extensions, each a token followed by
// "; name[=value]" parameters, the value a token or a quoted-string whose
// unescaped text is a token; whitespace (SP, HTAB) is allowed around
// ",", ";" and "=", and empty list elements are skipped. Anything else
// makes the whole header malformed: error = true, nothing accepted, even if
// an earlier offer was fine. Names are compared exactly (case-sensitive);
// extensions other than permessage-deflate are ignored.
// Offers are tried in order; the first permessage-deflate offer whose
// parameters are valid and acceptable wins. An offer with an unknown
// parameter, a repeated parameter, a value on a *_no_context_takeover
// parameter, a window value that is not a decimal 8..15 without leading
// zeros, or server_max_window_bits without a value is declined (not an
// error), and the next is tried. With config.enabled false nothing is
// parsed at all: never accepted, never an error.
// The response names the parameters in this order, each only when it
// applies:
//   server_no_context_takeover  offered, or config.server_no_context_takeover
//   client_no_context_takeover  offered (echoed), or config.client_no_context_takeover
//                               (a server may add it unasked)
//   server_max_window_bits=N    offered M: N = min(M, config), always sent
//                               (a response must answer it); not offered:
//                               N = config, sent only if below 15
//   client_max_window_bits=N    only if offered (with or without a value M):
//                               N = min(M or 15, config), sent if below 15.
//                               Not offered: the client may use 15, and our
//                               inflater must too
// e.g. "permessage-deflate; server_no_context_takeover; client_max_window_bits=12".
//
// Window bits 8. zlib cannot produce a raw deflate stream with an 8-bit
// window (deflateInit2 rejects windowBits -8; with the zlib wrapper it
// silently uses 9). A response may not name a larger server_max_window_bits
// than the offer, so an offer of server_max_window_bits=8 is declined and
// the next offer is tried; config.server_max_window_bits below 9 counts as
// 9. client_max_window_bits=8 is accepted: the client compresses, and our
// inflater decodes with a window of max(N, 9) bits. A larger window
// decodes any stream made with a smaller one, and 9 keeps us compatible
// with clients whose zlib agreed to 8 and quietly compressed with 9.
//
// Memory (zlib's own allocations, counted through zalloc/zfree; memory()
// reports them; zlib 1.2.13 on x86-64). Default config (window 15,
// mem_level 8):
//   Deflater 268,096 bytes from the first message on: window 64 KiB,
//            prev 64 KiB, hash heads 64 KiB, pending buffer 64 KiB, state
//            ~5.8 KiB; in general about (1 << (window_bits + 2)) +
//            (1 << (mem_level + 9)) + 6 KiB.
//   Inflater 7,160 bytes from the first message on, plus the window
//            (1 << window_bits) once output has been produced: 39,928 bytes.
// Both are allocated lazily by the first message.
//   Inflater, client_no_context_takeover: the state is freed after each
//            message (finish()), so between messages it holds 0 bytes;
//            re-creating it measured ~0.07 us more per message than an
//            inflateReset (1 KB messages).
//   Inflater, context takeover: it keeps its 39,928 bytes for the life of
//            the connection (the peer may refer back to any earlier message).
//   Deflater, either mode: it keeps its state between messages, reset
//            (deflateReset) after each under server_no_context_takeover.
//            Freeing and re-creating it per message was measured (level 1,
//            JSON-like text) at ~58 us per 100-byte message against ~2.5 us
//            with a reset, ~79 against ~7.6 us at 1 KB and ~131 against
//            ~50 us at 16 KB: the fresh 256 KiB goes back to the kernel and
//            is faulted in again. So it is freed only when the driver calls
//            Deflater::release(), e.g. when a connection has sent nothing
//            for a while; release() is allowed in both modes (see there).
//
// Thread: one object per connection, its shard's thread. Nothing here
// throws except std::string growing out of memory.
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
                                        // (clamped into that range)
  uint8_t client_max_window_bits = 15;  // the window we ask clients to use,
                                        // 8..15 (clamped)
  bool server_no_context_takeover = false;  // impose it even if not offered
  bool client_no_context_takeover = false;  // ask for it even if not offered
  int mem_level = 8;                    // zlib memLevel 1..9 for the deflater
  int level = 1;                        // zlib compression level 0..9
  size_t min_size = 64;                 // messages shorter than this go
                                        // uncompressed (the driver's rule;
                                        // Deflater compresses what it gets)
};

// What was agreed; the defaults are RFC 7692's (no parameters).
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  uint8_t server_max_window_bits = 15;  // 9..15 when we negotiated it
  uint8_t client_max_window_bits = 15;  // 8..15
  bool operator==(const DeflateParams&) const = default;
};

struct DeflateOffer {
  bool accepted = false;
  bool error = false;          // the header itself is malformed (400)
  std::string_view reason;     // for error: static text
  DeflateParams params;        // when accepted
  std::string response;        // when accepted: the Sec-WebSocket-Extensions
                               // value to send
};

// Pure: reads `offers` (the joined header values, see extension_offers),
// allocates only the response. Linear in the input; any thread.
DeflateOffer negotiate_deflate(std::string_view offers, const DeflateConfig& config);

// The client's side of the same exchange: reads a server's
// Sec-WebSocket-Extensions response, which must be exactly one
// permessage-deflate element (same syntax as above) whose parameters are
// known, not repeated, and valid (window values 8..15;
// client_max_window_bits needs a value here). Fills `out` (the server's
// view, as negotiate_deflate gives it) and returns true; false otherwise.
// negotiate_deflate's response always parses back to its params.
bool parse_deflate_response(std::string_view response, DeflateParams& out);

enum class InflateStatus : uint8_t { kOk, kTooBig, kCorrupt };

class Deflater {
 public:
  Deflater(const DeflateParams& params, const DeflateConfig& config);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Compresses one whole message; appends the payload to send (RSV1 set,
  // the trailing 00 00 ff ff removed) to `out`; an empty message gives the
  // single byte 00. Allocates the zlib state if none is held. False only
  // if zlib fails (out of memory): `out` is as it was, the state is
  // dropped (so nothing the peer never saw is referred to later), and the
  // message is to be sent uncompressed.
  bool compress(std::string_view message, std::string& out);
  // Frees the zlib state now (memory() becomes 0); the next compress()
  // creates it again (~50 us). Call it between messages on a connection
  // that has gone idle. Allowed with context takeover too: the next
  // message then starts a fresh deflate stream, which the peer's inflater
  // decodes like any other (it only costs that message some ratio).
  void release();
  // Bytes of zlib state held now (0 before the first message and after
  // release()).
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

  // Decompresses the next piece of a compressed message (pieces are the
  // frames' payloads, in order, any split), appending to `out`.
  // kTooBig once out would exceed `max_size` bytes in all (out.size()
  // counts what the caller put there before): close 1009. The cap is
  // checked as output grows, 16 KiB at a time, so a small message that
  // inflates to gigabytes costs at most max_size + 1 bytes of output; if
  // `out` must grow, its new capacity stays at most max(max_size + 1,
  // the size needed). kTooBig also when zlib cannot allocate its state.
  // kCorrupt on invalid deflate data: close 1007. After either error the
  // state is dropped and the connection is to be closed.
  // A final block (BFINAL = 1) ends the deflate stream: the rest of that
  // message's bytes are ignored, and finish() starts the next message on a
  // fresh stream whatever the context takeover mode (RFC 7692 7.2.3.4).
  InflateStatus feed(std::string_view piece, std::string& out, size_t max_size);
  // The message ended: feeds the 00 00 ff ff tail (same results as feed),
  // then frees the state under client_no_context_takeover (or after a
  // final block resets it); with context takeover the window is kept.
  // A message whose payload was empty (no bytes fed) inflates to nothing
  // and leaves the stream as it was: the tail alone would be half a stored
  // block header, which zlib would carry into the next message.
  InflateStatus finish(std::string& out, size_t max_size);
  // Bytes of zlib state held now (0 before the first message and, under
  // client_no_context_takeover, between messages).
  size_t memory() const;

 private:
  struct State;
  InflateStatus run(std::string_view input, std::string& out, size_t max_size);
  void drop();  // frees the zlib state, if any
  std::unique_ptr<State> state_;
  DeflateParams params_;
};

}  // namespace ringshard::ws
