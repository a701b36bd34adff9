// Micro benchmarks of json/json.h: parsing a chat message as a WebSocket
// server receives it and a 10 KiB array of objects as an HTTP API receives
// it, dumping them back, and append_string on its own (what a handler uses
// to build a reply by hand). Every benchmark's name starts with "Json"
// (--benchmark_filter=Json). Items are documents or strings; bytes are the
// JSON text read or written. Each benchmark checks its first result and
// stops with an error if the code under test does not do what is measured.
//
// main() comes from the bench executable (ringshard_micro_bench), not from
// this file.
#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <string_view>

#include "json/json.h"

namespace ringshard::json {
namespace {

// A chat message with the usual mix: nested object, escapes, a surrogate
// pair, numbers, an array, literals. About 200 bytes.
constexpr std::string_view kChatMessage =
    R"({"type":"message","room":"general","user":{"id":4217,)"
    R"("name":"Ada"},"text":"Hello, \u00e9t\u00e9! Meeting at 10:30 \ud83d\ude00",)"
    R"("ts":1700000000.125,"tags":["greeting","fr"],"edited":false,"reply_to":null})";
static_assert(kChatMessage.size() >= 190 && kChatMessage.size() <= 210);

// An API listing: objects of ids, short strings, a float, a flag and a small
// array, about 10 KiB in all.
std::string array_of_objects() {
  std::string out = "[";
  for (int i = 0; out.size() < 10 * 1024 - 130; ++i) {
    if (i != 0) out += ',';
    out += R"({"id":)" + std::to_string(1000 + i) + R"(,"name":"user-)" + std::to_string(i) +
           R"(","email":"user)" + std::to_string(i) + R"(@example.com","score":)" +
           std::to_string(i) + R"(.25,"active":)" + (i % 3 == 0 ? "false" : "true") +
           R"(,"roles":["reader","writer"]})";
  }
  out += ']';
  return out;
}

void report(benchmark::State& state, size_t bytes_per_item) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes_per_item));
  state.SetLabel(std::to_string(bytes_per_item) + " B");
}

void parse_document(benchmark::State& state, std::string_view text) {
  std::optional<Value> first = parse(text);
  if (!first || first->dump().size() > text.size()) {
    state.SkipWithError("document did not parse");
    return;
  }
  for (auto _ : state) {
    std::optional<Value> v = parse(text);
    benchmark::DoNotOptimize(v);
  }
  report(state, text.size());
}

void JsonParseChatMessage(benchmark::State& state) {
  parse_document(state, kChatMessage);
}
BENCHMARK(JsonParseChatMessage);

void JsonParseArrayOfObjects10KiB(benchmark::State& state) {
  const std::string text = array_of_objects();
  parse_document(state, text);
}
BENCHMARK(JsonParseArrayOfObjects10KiB);

// Into a string that keeps its capacity, as a connection's write buffer
// would.
void dump_document(benchmark::State& state, std::string_view text) {
  std::optional<Value> v = parse(text);
  if (!v) {
    state.SkipWithError("document did not parse");
    return;
  }
  std::string out;
  v->dump_to(out);
  const size_t size = out.size();
  if (!parse(out)) {
    state.SkipWithError("dump did not parse");
    return;
  }
  for (auto _ : state) {
    out.clear();
    v->dump_to(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state, size);
}

void JsonDumpChatMessage(benchmark::State& state) {
  dump_document(state, kChatMessage);
}
BENCHMARK(JsonDumpChatMessage);

void JsonDumpArrayOfObjects10KiB(benchmark::State& state) {
  const std::string text = array_of_objects();
  dump_document(state, text);
}
BENCHMARK(JsonDumpArrayOfObjects10KiB);

void append_string_bench(benchmark::State& state, std::string_view s) {
  std::string out;
  append_string(out, s);
  std::optional<Value> back = parse(out);
  if (!back || back->as_string() != s) {
    state.SkipWithError("append_string did not round-trip");
    return;
  }
  for (auto _ : state) {
    out.clear();
    append_string(out, s);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state, s.size());
}

// Chat text with nothing to escape (the common case), 128 bytes.
void JsonAppendStringPlain(benchmark::State& state) {
  append_string_bench(state,
                      "Hello everyone, the build is green again and the release notes are "
                      "in the usual place; see you all at the review on Thursday!!");
}
BENCHMARK(JsonAppendStringPlain);

// Text with quotes, newlines and a tab every few words, 128 bytes.
void JsonAppendStringEscapes(benchmark::State& state) {
  append_string_bench(state,
                      "line one: \"quoted\"\n\tline two: C:\\path\\to\\file\n"
                      "line three: \"more\" \"quotes\"\r\nend\x01 of text with a few "
                      "more words.....");
}
BENCHMARK(JsonAppendStringEscapes);

}  // namespace
}  // namespace ringshard::json
