#include "http/mw_compression.h"

#include <utility>

#include "engine/metrics.h"
#include "http/chars.h"
#include "http/server.h"

namespace ringshard::http {

// One shard's encoders, output buffer and counters: touched only by that
// shard (the counters are read by scrapes).
struct alignas(64) CompressionMiddleware::Shard {
  Shard(int gzip_level, int brotli_quality)
      : gzip(Coding::kGzip, gzip_level), br(Coding::kBrotli, brotli_quality) {}
  Compressor gzip;
  Compressor br;
  std::string out;
  engine::Counter responses[2];  // gzip, br
  engine::Counter bytes_in[2];
  engine::Counter bytes_out[2];
};

namespace {

// Does a Vary value list `accept-encoding` or `*` already?
bool varies_on_accept_encoding(std::string_view vary) {
  size_t pos = 0;
  while (pos <= vary.size()) {
    size_t comma = vary.find(',', pos);
    if (comma == std::string_view::npos) comma = vary.size();
    std::string_view item = vary.substr(pos, comma - pos);
    while (!item.empty() && chars::is_ows(item.front())) item.remove_prefix(1);
    while (!item.empty() && chars::is_ows(item.back())) item.remove_suffix(1);
    if (item == "*" || iequals(item, "accept-encoding")) return true;
    pos = comma + 1;
  }
  return false;
}

size_t coding_index(Coding c) { return c == Coding::kBrotli ? 1 : 0; }

}  // namespace

CompressionMiddleware::CompressionMiddleware(CompressionConfig config)
    : config_(std::move(config)) {
  policy_.enabled = config_.enabled;
  policy_.brotli = config_.brotli;
  policy_.min_size = config_.min_size;
  policy_.types = config_.types;
  const unsigned n = config_.shards == 0 ? 1 : config_.shards;
  shards_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>(config_.gzip_level, config_.brotli_quality));
  }
}

namespace {

class StreamCompressor final : public BodyFilter {
 public:
  StreamCompressor(Coding coding, int level) : c_(coding, level) {}
  bool write(std::string_view in, std::string& out) override { return c_.write(in, out); }
  bool finish(std::string& out) override { return c_.finish(out); }

 private:
  Compressor c_;
};

}  // namespace

CompressionMiddleware::~CompressionMiddleware() = default;

bool CompressionMiddleware::before(ServerRequest& req, Response&, RequestContext& ctx) const {
  if (config_.enabled) {
    ctx.coding = static_cast<uint8_t>(
        choose_encoding(req.header("accept-encoding"), config_.brotli));
  }
  return true;
}

void CompressionMiddleware::on_response(const ServerRequest*, Response& res, ResponseInfo& info,
                                        RequestContext& ctx) const {
  if (!config_.enabled) return;
  ResponseFacts facts;
  facts.status = info.status;
  facts.head_request = info.head_only;
  facts.content_type = info.content_type;
  facts.has_content_encoding = res.added_header("Content-Encoding").data() != nullptr;
  facts.cache_control = res.added_header("Cache-Control");
  if (!info.streamed) facts.body_size = info.body.size();
  const Coding accepted = ctx.coding <= 2 ? static_cast<Coding>(ctx.coding) : Coding::kIdentity;
  const CompressionDecision d = decide_compression(facts, accepted, policy_);
  if (d.vary && !varies_on_accept_encoding(res.added_header("Vary"))) {
    res.trusted_header("Vary", "Accept-Encoding");
  }
  if (d.coding == Coding::kIdentity) return;
  if (info.streamed) {
    // Compressed as it goes: each piece the producer writes is compressed
    // and flushed (the client can decode what has arrived); one compressor
    // per open stream.
    if (info.head_only) return;
    res.trusted_header("Content-Encoding", coding_name(d.coding));
    if (res.added_header("Content-Encoding") != coding_name(d.coding)) return;
    info.filter = std::make_unique<StreamCompressor>(
        d.coding, d.coding == Coding::kBrotli ? config_.brotli_quality : config_.gzip_level);
    shards_[ctx.shard % shards_.size()]->responses[coding_index(d.coding)].add();
    return;
  }
  if (info.storage == nullptr) return;

  Shard& shard = *shards_[ctx.shard % shards_.size()];
  Compressor& c = d.coding == Coding::kBrotli ? shard.br : shard.gzip;
  shard.out.clear();
  if (!c.compress(info.body, shard.out) || shard.out.size() >= info.body.size()) return;
  // The header first, and the body only once it is certain to go out with
  // it: an encoded body without Content-Encoding would be garbage to the
  // client. (Response::header() refuses headers once the response is
  // marked sent; a server that runs on_response() after that point gets
  // identity bodies, never broken ones.)
  res.trusted_header("Content-Encoding", coding_name(d.coding));
  if (res.added_header("Content-Encoding") != coding_name(d.coding)) return;
  const size_t i = coding_index(d.coding);
  shard.responses[i].add();
  shard.bytes_in[i].add(info.body.size());
  shard.bytes_out[i].add(shard.out.size());
  // The body may live in *storage already (an inner middleware replaced
  // it): it is not read again after the swap.
  std::swap(shard.out, *info.storage);
  info.body = *info.storage;
}

uint64_t CompressionMiddleware::compressed(Coding coding) const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->responses[coding_index(coding)].get();
  return total;
}

void CompressionMiddleware::write_metrics(obs::PrometheusWriter& out) const {
  static constexpr Coding kCodings[] = {Coding::kGzip, Coding::kBrotli};
  out.family("ringshard_compression_responses_total", obs::MetricType::kCounter,
             "Responses whose body was compressed, by content coding.");
  for (Coding c : kCodings) {
    out.sample({{"coding", coding_name(c)}}, compressed(c));
  }
  out.family("ringshard_compression_bytes_total", obs::MetricType::kCounter,
             "Body bytes of compressed responses before (in) and after (out) compression.");
  for (Coding c : kCodings) {
    uint64_t in = 0, outb = 0;
    for (const auto& s : shards_) {
      in += s->bytes_in[coding_index(c)].get();
      outb += s->bytes_out[coding_index(c)].get();
    }
    out.sample({{"coding", coding_name(c)}, {"direction", "in"}}, in);
    out.sample({{"coding", coding_name(c)}, {"direction", "out"}}, outb);
  }
}

}  // namespace ringshard::http
