// bench/load/ws_load.h: ringshard-load's WebSocket modes, on the same
// engine shards as the HTTP modes (io_uring connect, send, multishot
// receive; wss:// through the TLS client transport).
//
// Echo (--ws-echo; a ws:// URL such as ws://127.0.0.1:8080/ws/echo): every
// connection upgrades (the 101 and its Sec-WebSocket-Accept are checked),
// then keeps --depth messages of --size bytes in flight, text or --binary:
// one new message leaves as each echo comes back. Every echo is checked
// byte for byte against what was sent; latency runs from a message's send to
// its echo. --requests counts messages; at the end each connection sends a
// close frame and waits for the server's close and FIN.
//
// Fan-out (--ws-fanout, a /ws/chat URL): --connections subscribers connect
// (at most 256 upgrades in flight per thread, so the server's listen
// backlog never overflows) and send {"type":"join_channel","channel":C}.
// Once every subscriber on every thread got its "joined", --publishers
// publisher connections (members too: the chat refuses messages to a
// channel not joined) send {"type":"channel_message","channel":C,
// "message":"p<publisher>s<seq>t<ns>xxx..."}, the message padded with 'x'
// to --size bytes. The server also delivers each publication back to its
// publisher: publishers run closed-loop on that echo (--depth in flight each)
// or, with --rate, at that many publications/s over all of them. Publishing
// lasts --duration from the first publication, or --requests publications.
// Then members wait (up to --timeout without a delivery) for what is still
// due, and every member (subscribers and publishers) is checked: it must
// have received every publication exactly once, in publication order per
// publisher; anything missing, repeated or out of order is an error
// (errors.fanout, with the counts). Deliveries/s is the subscribers'
// receipts over the window from the first publication to the last
// delivery; latency is per delivery, from its publication's send time (one
// clock: the same process).
//
// With --server-pid, the server's utime+stime over the measured window is
// reported (fan-out: that window; echo: from the start to the end of
// sending), so connection set-up is not charged to deliveries.
//
// What the client costs: one mask key per run (RFC 6455 wants a fresh
// unpredictable key per frame, to protect intermediaries from cache
// poisoning; a benchmark on loopback has none), so an echo message, whose
// bytes never change, is encoded and masked once and sent by reference.
// Server frames are parsed in place by ws::FrameReader; only fan-out
// messages (about 100 bytes) are copied, to be parsed. With --deflate each
// connection compresses what it sends (ws::Deflater, context takeover as
// negotiated) and inflates what it receives.
//
// Control plane: run_ws_load() blocks until the run is over.
#pragma once

#include <string>

#include "bench/load/load_options.h"
#include "bench/load/load_run.h"

namespace ringshard::load {

LoadResult run_ws_load(const LoadOptions& options);

std::string format_ws_text(const LoadOptions& options, const LoadResult& result);
std::string format_ws_json(const LoadOptions& options, const LoadResult& result);

}  // namespace ringshard::load
