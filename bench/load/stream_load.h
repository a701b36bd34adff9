// bench/load/stream_load.h: ringshard-load --ws-stream, the delivery
// latency of a server's event stream: how long after a create does every
// subscriber of the stream hear of it?
//
//   ringshard-load ws://127.0.0.1:8080/v1/stream --ws-stream --connections 1000
//       --requests 100 --header 'Authorization: Bearer TOKEN'
//
// 1. --connections subscribers (1,000 by default) open the ws:// URL (the
//    path may carry a query, e.g. ?access_token=TOKEN), at most 256
//    upgrades in flight, each 101 checked. A refused or failed upgrade is
//    retried; failures in a row on 3 x min(N, 256) attempts end the run
//    (fatal, with the last refusing status). Nothing is timed until every
//    subscriber is open; then --settle (100 ms) lets the server finish
//    registering them, and what arrived so far is forgotten.
// 2. --requests times (100), one create at a time on one keep-alive HTTP
//    connection: --method (POST) to --post (/v1/deployments) with --body
//    (a deployment; "Content-Type: application/json" is added unless a
//    --header gives one), the request encoded once (request_encoder.h).
//    Its send time starts the clock. The answer must have --expect-status
//    (201) and a JSON body with a string "id".
// 3. Every subscriber must then receive a text message, a JSON object with
//    "type" --event-type (deployment.update), "deployment_id" that id and
//    "status" --event-status (pending). Other messages are ignored (other
//    statuses of the same deployment, other deployments' events, replays).
//    An event may arrive before the create's answer (a server publishes at
//    commit): it is held by id and matched when the answer names it.
//    Latency per subscriber = arrival (the read that completed the message,
//    one CLOCK_MONOTONIC read per read) - the create's send.
// 4. The next create goes out as soon as every open subscriber has the
//    event, or --timeout (5 s) after the create's send: what has not arrived
//    by then is missed (arriving later, it counts as late, still missed). A
//    subscriber lost during the run misses every event after it.
// 5. It stops after --requests creates, or early (said in `stopped`) after
//    3 creates in a row that failed, or 3 events in a row that reached no
//    subscriber; then every subscriber sends close 1000 and waits for the
//    server's close and FIN. Every wait is bounded: the run ends by itself.
//
// Reported: p50/p90/p99/p99.9/max over every subscriber x event sample,
// missed = subscribers x creates - samples (also errors.stream, so exit 1
// past --max-errors, with duplicates), late, duplicates, the creates' own
// latency, the set-up time and, with --server-pid, the server's CPU from the
// first create to the last event.
//
// Why C++ on the engine, not a script: 1,000 subscribers each receive every
// event at about the same instant, and the client's own cost of reading
// them is charged to the last ones (p99). Here a read costs a recv
// completion and a scan of the message for three string members
// (json_string_member below, no parse tree); a Python asyncio client spends
// tens of microseconds per message in the interpreter, i.e. tens of
// milliseconds per event at 1,000 subscribers, which would be the p99.
//
// Control plane: run_stream_load() blocks until the run is over. It runs on
// one engine shard (--threads 1): the pending event is one piece of state.
#pragma once

#include <string>
#include <string_view>

#include "bench/load/load_options.h"
#include "bench/load/load_run.h"

namespace ringshard::load {

LoadResult run_stream_load(const LoadOptions& options);

std::string format_stream_text(const LoadOptions& options, const LoadResult& result);
std::string format_stream_json(const LoadOptions& options, const LoadResult& result);

// The raw text of the string member `key` of the JSON object `object` (its
// escapes left as sent); a view with data() == nullptr when there is no
// such member or it is not a string. A scan, not a parse: it trusts the
// server to send JSON, and finds the key only where it is a key (followed
// by ':'), not inside another string. The view points into `object`.
std::string_view json_string_member(std::string_view object, std::string_view key);

}  // namespace ringshard::load
