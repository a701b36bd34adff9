// ws/deflate.cc: permessage-deflate negotiation (a small parser for the
// Sec-WebSocket-Extensions grammar) and the zlib compressor/decompressor.
// The numbers and trade-offs behind the memory policy are in deflate.h.
#include "ws/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

namespace ringshard::ws {
namespace {

// --- Sec-WebSocket-Extensions lexer ---------------------------------------------

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

struct Param {
  std::string_view name;
  std::string_view value;  // raw: a token, or a quoted-string's inside (escapes kept)
  bool has_value = false;
  bool quoted = false;
};

// Calls fn(c) for each character of the value after unescaping.
template <typename Fn>
void for_each_value_char(const Param& p, Fn&& fn) {
  for (size_t i = 0; i < p.value.size(); ++i) {
    if (p.quoted && p.value[i] == '\\') ++i;  // the lexer saw to it that a char follows
    fn(p.value[i]);
  }
}

// Walks "ext; a=1; b, ext2" one extension, then one parameter at a time.
// The first syntax error sticks: every later call returns false and
// error() names it.
class ExtensionLexer {
 public:
  explicit ExtensionLexer(std::string_view s) : s_(s) {}

  // Moves to the next extension (after any unread parameters of the
  // current one); false at the end or on an error.
  bool next_extension(std::string_view& name) {
    Param skipped;
    while (in_element_ && next_param(skipped)) {
    }
    if (!error_.empty()) return false;
    for (;;) {  // empty list elements: ", ,"
      skip_ows();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      break;
    }
    if (i_ == s_.size()) return false;
    name = token();
    if (name.empty()) return fail("Sec-WebSocket-Extensions: expected an extension name");
    in_element_ = true;
    return true;
  }

  // The next parameter of the current extension; false when the extension
  // ends (at ',' or the end of the text) or on an error.
  bool next_param(Param& p) {
    if (!in_element_ || !error_.empty()) return false;
    skip_ows();
    if (i_ == s_.size() || s_[i_] == ',') {
      in_element_ = false;
      return false;
    }
    if (s_[i_] != ';') return fail("Sec-WebSocket-Extensions: expected ';' or ','");
    ++i_;
    skip_ows();
    p = Param{};
    p.name = token();
    if (p.name.empty()) return fail("Sec-WebSocket-Extensions: expected a parameter name");
    skip_ows();
    if (i_ == s_.size() || s_[i_] != '=') return true;
    ++i_;
    skip_ows();
    p.has_value = true;
    if (i_ < s_.size() && s_[i_] == '"') return quoted(p);
    p.value = token();
    if (p.value.empty()) return fail("Sec-WebSocket-Extensions: expected a parameter value");
    return true;
  }

  bool failed() const { return !error_.empty(); }
  std::string_view error() const { return error_; }

 private:
  void skip_ows() {
    while (i_ < s_.size() && is_ows(s_[i_])) ++i_;
  }

  std::string_view token() {
    const size_t start = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

  // A quoted-string whose unescaped text must be a token (RFC 6455 9.1),
  // so only token characters, escaped or not, may appear inside.
  bool quoted(Param& p) {
    ++i_;  // opening quote
    const size_t start = i_;
    size_t chars = 0;
    for (;;) {
      if (i_ == s_.size()) return fail("Sec-WebSocket-Extensions: unterminated quoted value");
      char c = s_[i_];
      if (c == '"') break;
      if (c == '\\') {
        if (++i_ == s_.size()) {
          return fail("Sec-WebSocket-Extensions: unterminated quoted value");
        }
        c = s_[i_];
      }
      if (!is_tchar(c)) {
        return fail("Sec-WebSocket-Extensions: quoted value is not a token");
      }
      ++chars;
      ++i_;
    }
    if (chars == 0) return fail("Sec-WebSocket-Extensions: quoted value is not a token");
    p.value = s_.substr(start, i_ - start);
    p.quoted = true;
    ++i_;  // closing quote
    return true;
  }

  bool fail(std::string_view reason) {
    if (error_.empty()) error_ = reason;
    in_element_ = false;
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
  bool in_element_ = false;
  std::string_view error_;
};

// --- permessage-deflate parameters ----------------------------------------------

constexpr std::string_view kExtension = "permessage-deflate";

// A window size value: decimal 8..15 without leading zeros (RFC 7692
// 7.1.2.1), after unescaping.
bool parse_bits(const Param& p, uint8_t& bits) {
  int v = 0;
  size_t digits = 0;
  bool ok = true;
  for_each_value_char(p, [&](char c) {
    if (c < '0' || c > '9' || (digits == 0 && c == '0') || digits == 2) ok = false;
    if (!ok) return;  // two digits at most: no overflow on "99999999999"
    v = v * 10 + (c - '0');
    ++digits;
  });
  if (!ok || v < 8 || v > 15) return false;
  bits = static_cast<uint8_t>(v);
  return true;
}

// The parameters of one permessage-deflate element, as offered (or, for
// parse_deflate_response, as answered).
struct ElementParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  bool server_bits_given = false;
  bool client_bits_given = false;
  uint8_t server_bits = 15;
  uint8_t client_bits = 15;  // 15 when given without a value
  bool bad = false;          // unknown, repeated or invalid: decline

  // `response`: client_max_window_bits needs a value (RFC 7692 7.1.2.2).
  void apply(const Param& p, bool response) {
    auto flag = [&](bool& seen) {
      if (seen || p.has_value) bad = true;
      seen = true;
    };
    if (p.name == "server_no_context_takeover") {
      flag(server_no_context_takeover);
    } else if (p.name == "client_no_context_takeover") {
      flag(client_no_context_takeover);
    } else if (p.name == "server_max_window_bits") {
      if (server_bits_given || !p.has_value || !parse_bits(p, server_bits)) bad = true;
      server_bits_given = true;
    } else if (p.name == "client_max_window_bits") {
      if (client_bits_given) bad = true;
      client_bits_given = true;
      if (p.has_value ? !parse_bits(p, client_bits) : response) bad = true;
    } else {
      bad = true;
    }
  }
};

uint8_t clamp_bits(uint8_t v, uint8_t lo) { return std::clamp<uint8_t>(v, lo, 15); }

void append_bits(std::string& out, std::string_view name, uint8_t bits) {
  out += "; ";
  out += name;
  out += '=';
  if (bits >= 10) out += '1';
  out += static_cast<char>('0' + bits % 10);
}

// Accepts `e` under `config` into `offer`, or leaves it untouched (decline).
void try_accept(const ElementParams& e, const DeflateConfig& config, DeflateOffer& offer) {
  const uint8_t config_server = clamp_bits(config.server_max_window_bits, 9);
  const uint8_t config_client = clamp_bits(config.client_max_window_bits, 8);
  DeflateParams p;
  p.server_no_context_takeover = e.server_no_context_takeover || config.server_no_context_takeover;
  p.client_no_context_takeover = e.client_no_context_takeover || config.client_no_context_takeover;
  p.server_max_window_bits = e.server_bits_given ? std::min(e.server_bits, config_server)
                                                 : config_server;
  // zlib has no raw deflate with an 8-bit window, and we may not answer
  // with more than was offered (deflate.h, "Window bits 8").
  if (p.server_max_window_bits < 9) return;
  p.client_max_window_bits = e.client_bits_given ? std::min(e.client_bits, config_client) : 15;

  offer.accepted = true;
  offer.params = p;
  offer.response = kExtension;
  if (p.server_no_context_takeover) offer.response += "; server_no_context_takeover";
  if (p.client_no_context_takeover) offer.response += "; client_no_context_takeover";
  if (e.server_bits_given || p.server_max_window_bits < 15) {
    append_bits(offer.response, "server_max_window_bits", p.server_max_window_bits);
  }
  if (p.client_max_window_bits < 15) {
    append_bits(offer.response, "client_max_window_bits", p.client_max_window_bits);
  }
}

// --- zlib memory accounting -----------------------------------------------------

// zlib allocates through these so that memory() reports what zlib really
// holds. Each block carries its size in a header as wide as malloc's
// alignment, so zlib's pointers stay as aligned as malloc's.
constexpr size_t kAllocHeader = alignof(std::max_align_t);

void* counted_alloc(void* opaque, uInt items, uInt size) {
  const size_t bytes = size_t{items} * size;
  void* block = std::malloc(bytes + kAllocHeader);
  if (block == nullptr) return Z_NULL;
  std::memcpy(block, &bytes, sizeof bytes);
  *static_cast<size_t*>(opaque) += bytes;
  return static_cast<char*>(block) + kAllocHeader;
}

void counted_free(void* opaque, void* address) {
  char* block = static_cast<char*>(address) - kAllocHeader;
  size_t bytes;
  std::memcpy(&bytes, block, sizeof bytes);
  *static_cast<size_t*>(opaque) -= bytes;
  std::free(block);
}

// zlib counts in uInt; larger inputs are fed in slices of this size.
constexpr size_t kMaxSlice = size_t{1} << 30;

// The RFC 7692 7.2.1 flush marker: an empty stored block's LEN and NLEN.
constexpr char kTail[4] = {0x00, 0x00, static_cast<char>(0xff), static_cast<char>(0xff)};

}  // namespace

// --- negotiation ----------------------------------------------------------------

DeflateOffer negotiate_deflate(std::string_view offers, const DeflateConfig& config) {
  DeflateOffer offer;
  if (!config.enabled) return offer;
  ExtensionLexer lex(offers);
  std::string_view name;
  while (lex.next_extension(name)) {
    // After a winner the rest is still read, for its syntax only.
    const bool consider = !offer.accepted && name == kExtension;
    ElementParams e;
    Param p;
    while (lex.next_param(p)) {
      if (consider) e.apply(p, /*response=*/false);
    }
    if (lex.failed()) break;
    if (consider && !e.bad) try_accept(e, config, offer);
  }
  if (lex.failed()) {
    DeflateOffer bad;
    bad.error = true;
    bad.reason = lex.error();
    return bad;
  }
  return offer;
}

bool parse_deflate_response(std::string_view response, DeflateParams& out) {
  ExtensionLexer lex(response);
  std::string_view name;
  if (!lex.next_extension(name) || name != kExtension) return false;
  ElementParams e;
  Param p;
  while (lex.next_param(p)) e.apply(p, /*response=*/true);
  if (lex.failed() || e.bad) return false;
  if (lex.next_extension(name) || lex.failed()) return false;
  out = DeflateParams{};
  out.server_no_context_takeover = e.server_no_context_takeover;
  out.client_no_context_takeover = e.client_no_context_takeover;
  out.server_max_window_bits = e.server_bits;
  out.client_max_window_bits = e.client_bits;
  return true;
}

// --- Deflater -------------------------------------------------------------------

struct Deflater::State {
  z_stream z{};
  size_t bytes = 0;  // zlib's allocations, through counted_alloc
  bool live = false;
};

Deflater::Deflater(const DeflateParams& params, const DeflateConfig& config)
    : state_(std::make_unique<State>()),
      params_(params),
      level_(std::clamp(config.level, -1, 9)),
      mem_level_(std::clamp(config.mem_level, 1, 9)) {
  params_.server_max_window_bits = clamp_bits(params_.server_max_window_bits, 9);
}

Deflater::~Deflater() { release(); }

void Deflater::release() {
  if (!state_->live) return;
  deflateEnd(&state_->z);
  state_->live = false;
  assert(state_->bytes == 0);
}

size_t Deflater::memory() const { return state_->bytes; }

bool Deflater::compress(std::string_view message, std::string& out) {
  if (message.empty()) {
    // An empty stored block's header byte; the peer appends LEN/NLEN. zlib
    // would emit nothing for a second flush in a row.
    out += '\0';
    return true;
  }
  State& s = *state_;
  if (!s.live) {
    s.z = z_stream{};
    s.z.zalloc = counted_alloc;
    s.z.zfree = counted_free;
    s.z.opaque = &s.bytes;
    if (deflateInit2(&s.z, level_, Z_DEFLATED, -params_.server_max_window_bits, mem_level_,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      return false;
    }
    s.live = true;
  }
  const size_t start = out.size();
  // deflateBound is exact for one Z_FINISH call; a sync flush adds at most
  // a few bytes (the empty stored block), hence the slack, and the loop
  // grows `out` anyway if that is ever not enough.
  out.resize(start + deflateBound(&s.z, message.size()) + 16);
  size_t produced = 0;
  const char* in = message.data();
  size_t left = message.size();
  for (;;) {
    if (s.z.avail_in == 0 && left > 0) {
      const size_t slice = std::min(left, kMaxSlice);
      s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
      s.z.avail_in = static_cast<uInt>(slice);
      in += slice;
      left -= slice;
    }
    if (start + produced == out.size()) out.resize(out.size() + out.size() / 2 + 64);
    const size_t room = std::min(out.size() - start - produced, kMaxSlice);
    s.z.next_out = reinterpret_cast<Bytef*>(out.data() + start + produced);
    s.z.avail_out = static_cast<uInt>(room);
    const int flush = left > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH;
    const int r = deflate(&s.z, flush);
    produced += room - s.z.avail_out;
    if (r != Z_OK && r != Z_BUF_ERROR) break;  // Z_STREAM_ERROR: unusable state
    // Done when all input is in and the flush left output space unused.
    if (flush == Z_SYNC_FLUSH && s.z.avail_in == 0 && s.z.avail_out != 0) {
      out.resize(start + produced);
      if (produced < 4 || std::memcmp(out.data() + out.size() - 4, kTail, 4) != 0) break;
      out.resize(out.size() - 4);
      if (params_.server_no_context_takeover) deflateReset(&s.z);
      return true;
    }
  }
  // Our window may now hold bytes the peer will never see; a fresh stream
  // for the next message refers to none of them.
  out.resize(start);
  release();
  return false;
}

// --- Inflater -------------------------------------------------------------------

struct Inflater::State {
  z_stream z{};
  size_t bytes = 0;    // zlib's allocations, through counted_alloc
  bool live = false;
  bool ended = false;  // a final block ended the stream within this message
  bool fed = false;    // this message has had payload bytes
};

Inflater::Inflater(const DeflateParams& params, const DeflateConfig&)
    : state_(std::make_unique<State>()), params_(params) {
  // A window of at least 9 bits decodes what a peer sends after agreeing to
  // 8 (deflate.h, "Window bits 8"); more than agreed is never needed.
  params_.client_max_window_bits = clamp_bits(params_.client_max_window_bits, 9);
}

Inflater::~Inflater() { drop(); }

size_t Inflater::memory() const { return state_->bytes; }

void Inflater::drop() {
  State& s = *state_;
  if (s.live) inflateEnd(&s.z);
  s.live = false;
  s.ended = false;
  s.fed = false;
  assert(s.bytes == 0);
}

namespace {

// Makes room for `need` bytes in `out`, growing geometrically but never
// past max(limit, need): std::string's own growth would double past it.
void reserve_capped(std::string& out, size_t need, size_t limit) {
  if (out.capacity() >= need) return;
  const size_t doubled = out.capacity() > limit / 2 ? limit : out.capacity() * 2;
  std::string bigger;
  bigger.reserve(std::max(need, doubled));
  bigger.append(out);
  out.swap(bigger);
}

}  // namespace

InflateStatus Inflater::run(std::string_view input, std::string& out, size_t max_size) {
  State& s = *state_;
  if (!s.live) {
    s.z = z_stream{};
    s.z.zalloc = counted_alloc;
    s.z.zfree = counted_free;
    s.z.opaque = &s.bytes;
    if (inflateInit2(&s.z, -params_.client_max_window_bits) != Z_OK) {
      drop();
      return InflateStatus::kTooBig;
    }
    s.live = true;
  }
  constexpr size_t kChunk = 16 * 1024;
  // The output allowed plus one byte, which shows that the cap is passed.
  const size_t limit = max_size == SIZE_MAX ? SIZE_MAX : max_size + 1;
  const char* in = input.data();
  size_t left = input.size();
  s.z.avail_in = 0;
  for (;;) {
    if (s.z.avail_in == 0 && left > 0) {
      const size_t slice = std::min(left, kMaxSlice);
      s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
      s.z.avail_in = static_cast<uInt>(slice);
      in += slice;
      left -= slice;
    }
    const size_t old = out.size();
    if (old >= limit) {
      drop();
      return InflateStatus::kTooBig;
    }
    const size_t room = std::min({kChunk, limit - old, kMaxSlice});
    reserve_capped(out, old + room, limit);
    out.resize(old + room);
    s.z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    s.z.avail_out = static_cast<uInt>(room);
    const int r = inflate(&s.z, Z_SYNC_FLUSH);
    out.resize(old + room - s.z.avail_out);
    if (out.size() > max_size) {
      drop();
      return InflateStatus::kTooBig;
    }
    switch (r) {
      case Z_OK:
      case Z_BUF_ERROR:  // no progress possible: input used up or room full
        break;
      case Z_STREAM_END:
        // BFINAL: what follows in this message is not part of the stream.
        s.ended = true;
        return InflateStatus::kOk;
      case Z_MEM_ERROR:
        drop();
        return InflateStatus::kTooBig;
      default:  // Z_DATA_ERROR, Z_NEED_DICT (no dictionary in raw deflate)
        drop();
        return InflateStatus::kCorrupt;
    }
    if (s.z.avail_in == 0 && left == 0 && s.z.avail_out != 0) return InflateStatus::kOk;
  }
}

InflateStatus Inflater::feed(std::string_view piece, std::string& out, size_t max_size) {
  if (state_->ended || piece.empty()) return InflateStatus::kOk;
  state_->fed = true;
  return run(piece, out, max_size);
}

InflateStatus Inflater::finish(std::string& out, size_t max_size) {
  State& s = *state_;
  // The tail after an empty payload would be half a stored block header
  // (LEN without NLEN) left hanging into the next message; an empty
  // payload is an empty message, with nothing to flush.
  if (!s.ended && s.fed) {
    const InflateStatus st = run(std::string_view(kTail, sizeof kTail), out, max_size);
    if (st != InflateStatus::kOk) return st;
  }
  if (params_.client_no_context_takeover) {
    drop();
  } else if (s.ended) {
    inflateReset(&s.z);
    s.ended = false;
  }
  s.fed = false;
  return InflateStatus::kOk;
}

}  // namespace ringshard::ws
