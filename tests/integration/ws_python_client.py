#!/usr/bin/python3
"""The ringshard binary against a third-party WebSocket client: Debian's
python3-websockets (10.4, its asyncio client), run with /usr/bin/python3.

    ws_python_client.py PATH/TO/ringshard [-k SUBSTRING]

Starts the binary itself (127.0.0.1:0, 2 shards, plus servers with small
limits and short timers where a test needs them) and covers: echo of
text/binary/empty/1 MiB messages with permessage-deflate off and on (the
negotiated parameters, and that the server really compressed), fragmented
sends with a ping in the middle, ping/pong, close codes both ways, the
message limit (1009), keepalive pings and the pong and idle timeouts, the
/ws/chat channels across shards (every member gets every message exactly
once, in order per publisher; a member that stops reading is closed with
1008 and the others go on), graceful shutdown (1001), and the protocol
errors the library cannot make, written as raw frames on its transport.

Exit status: 0 all passed, 1 a test failed, 77 python3-websockets is
missing (ctest reports a skip). Every test has a deadline.
"""

import asyncio
import json
import os
import socket
import struct
import sys
import time

# Import the helpers beside this file without leaving __pycache__ in the
# source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_python_support import RingshardProcess, sanitized  # noqa: E402

try:
    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatusCode
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.legacy.client import WebSocketClientProtocol
except ImportError as e:
    print(f"SKIP: python3-websockets is not installed for {sys.executable} ({e})")
    sys.exit(77)

TIMEOUT = 20.0  # per test; doubled for sanitizer builds
MiB = 1 << 20


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def expect_equal(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        raise TestFailure(f"{what}: got {g[:200]}, want {w[:200]}")


def raw_frame(op, payload=b"", fin=True, rsv=0, mask=True):
    """A client frame built by hand, for what the library refuses to send."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | op])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def pattern(n, seed=1):
    block = bytes((i * 7 + seed) % 251 for i in range(4096))
    return (block * (n // 4096 + 1))[:n]


def text(n, seed=1):
    words = ["ring", "shard", "κόσμε", "uring", "frame", "€", "deflate"]
    out, size, i = [], 0, seed
    while size < n:
        w = words[i % len(words)] + " "
        i = i * 1103515245 + 12345 & 0x7FFFFFFF
        out.append(w)
        size += len(w.encode())
    s = "".join(out).encode()[:n].decode("utf-8", "ignore")
    return s + "." * (n - len(s.encode()))


class CountingDeflate(ClientPerMessageDeflateFactory):
    """permessage-deflate that counts the compressed frames it decodes."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.compressed = 0
        self.plain = 0

    def process_response_params(self, params, accepted):
        ext = super().process_response_params(params, accepted)
        decode = ext.decode

        def counting_decode(frame, *, max_size=None):
            if frame.opcode in (1, 2):
                if frame.rsv1:
                    self.compressed += 1
                else:
                    self.plain += 1
            return decode(frame, max_size=max_size)
        ext.decode = counting_decode
        return ext


class PingCounting(WebSocketClientProtocol):
    """Counts the server's pings (the library answers them with pong())."""
    answer_pings = True

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.server_pings = 0
        self.three_pings = asyncio.Event()

    async def pong(self, data=b""):
        self.server_pings += 1
        if self.server_pings >= 3:
            self.three_pings.set()
        if self.answer_pings:
            await super().pong(data)


class Deaf(PingCounting):
    answer_pings = False


# --- the tests -----------------------------------------------------------------

TESTS = []


def test(server="default"):
    def register(fn):
        TESTS.append((fn.__name__, server, fn))
        return fn
    return register


def url(srv, path="/ws/echo"):
    return f"ws://127.0.0.1:{srv.port}{path}"


@test()
async def echo_text_binary_empty_without_deflate(srv):
    async with websockets.connect(url(srv), compression=None) as ws:
        check(ws.response_headers.get("Sec-WebSocket-Extensions") is None,
              "no extension when none was offered")
        for m in ["hello", "", "κόσμε €", "x" * 125, "y" * 126, "z" * 65536,
                  b"", b"\x00\xff\x80", pattern(65535), pattern(70000)]:
            await ws.send(m)
            expect_equal(await ws.recv(), m, f"echo of {type(m).__name__} of {len(m)}")


@test()
async def echo_1mib_without_deflate(srv):
    async with websockets.connect(url(srv), compression=None, max_size=4 * MiB) as ws:
        for m in [text(MiB), pattern(MiB)]:
            await ws.send(m)
            expect_equal(await ws.recv(), m, "1 MiB echo")


@test()
async def echo_with_deflate_negotiated_and_used(srv):
    counting = CountingDeflate()
    async with websockets.connect(url(srv), extensions=[counting], compression=None,
                                  max_size=4 * MiB) as ws:
        header = ws.response_headers.get("Sec-WebSocket-Extensions")
        check(header is not None and header.startswith("permessage-deflate"),
              f"permessage-deflate accepted (got {header!r})")
        expect_equal([e.name for e in ws.extensions], ["permessage-deflate"], "extensions")
        big = [text(MiB), pattern(MiB), text(10000), text(10000)]
        for m in big:
            await ws.send(m)
            expect_equal(await ws.recv(), m, f"deflate echo of {len(m)}")
        expect_equal(counting.compressed, len(big), "echoes that came back compressed")
        for m in ["", "short", b"\x01\x02"]:  # under --ws-deflate-min-size (64)
            await ws.send(m)
            expect_equal(await ws.recv(), m, "short deflate echo")
        expect_equal(counting.plain, 3, "short echoes that came back uncompressed")


@test()
async def deflate_default_offer(srv):
    async with websockets.connect(url(srv), compression="deflate") as ws:
        expect_equal(ws.response_headers.get("Sec-WebSocket-Extensions"), "permessage-deflate",
                     "answer to the library's default offer (client_max_window_bits)")
        for i in range(20):  # context takeover across messages, both ways
            m = text(3000, seed=i % 3)
            await ws.send(m)
            expect_equal(await ws.recv(), m, "deflate echo")


@test()
async def deflate_parameters(srv):
    cases = [
        (dict(server_no_context_takeover=True, client_no_context_takeover=True),
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        (dict(server_max_window_bits=10, client_max_window_bits=10),
         "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"),
        (dict(server_max_window_bits=9, client_max_window_bits=True),
         "permessage-deflate; server_max_window_bits=9"),
        (dict(client_max_window_bits=12, server_no_context_takeover=True),
         "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
    ]
    for kw, want in cases:
        # The library decodes with exactly the agreed window and context
        # mode, so a server that overstepped them fails the echo.
        counting = CountingDeflate(**kw)
        async with websockets.connect(url(srv), extensions=[counting], compression=None) as ws:
            expect_equal(ws.response_headers.get("Sec-WebSocket-Extensions"), want, f"offer {kw}")
            for i in range(10):
                m = text(20000, seed=i % 2)
                await ws.send(m)
                expect_equal(await ws.recv(), m, f"echo with {kw}")
            expect_equal(counting.compressed, 10, f"compressed echoes with {kw}")


@test("nodeflate")
async def deflate_declined_when_disabled(srv):
    async with websockets.connect(url(srv), compression="deflate") as ws:
        expect_equal(ws.response_headers.get("Sec-WebSocket-Extensions"), None,
                     "extension header from a --ws-deflate=false server")
        expect_equal(ws.extensions, [], "extensions")
        m = text(5000)
        await ws.send(m)
        expect_equal(await ws.recv(), m, "echo")


@test()
async def fragmented_sends(srv):
    async with websockets.connect(url(srv)) as ws:
        await ws.send(["frag1", "frag2", "", "frag3"])
        expect_equal(await ws.recv(), "frag1frag2frag3", "text fragments")
        await ws.send([b"\x00", b"\x01\x02", b"\xff" * 70000])
        expect_equal(await ws.recv(), b"\x00\x01\x02" + b"\xff" * 70000, "binary fragments")
        await ws.send(["κό", "σμε"])
        expect_equal(await ws.recv(), "κόσμε", "text split between characters")

        async def with_ping_inside():
            yield "before ping "
            # A control frame inside a fragmented message: the server answers
            # it before the message is complete.
            waiter = await ws.ping(b"inside")
            await waiter
            yield "after pong"
        await ws.send(with_ping_inside())
        expect_equal(await ws.recv(), "before ping after pong", "fragments around a ping")


@test()
async def fragmented_sends_with_deflate(srv):
    async with websockets.connect(url(srv), compression="deflate") as ws:
        parts = [text(3000, i) for i in range(5)]
        await ws.send(parts)
        expect_equal(await ws.recv(), "".join(parts), "compressed fragments")


@test()
async def ping_pong(srv):
    async with websockets.connect(url(srv), ping_interval=None) as ws:
        for payload in [b"", b"abc", bytes(range(125)), "text ping"]:
            waiter = await ws.ping(payload)
            await asyncio.wait_for(waiter, TIMEOUT)
        waiters = [await ws.ping(b"%d" % i) for i in range(10)]
        await asyncio.wait_for(asyncio.gather(*waiters), TIMEOUT)
        await ws.pong(b"unsolicited")
        await ws.send("still echoing")
        expect_equal(await ws.recv(), "still echoing", "echo after an unsolicited pong")


@test()
async def client_close_codes(srv):
    for code, reason in [(1000, ""), (1000, "bye"), (1001, "going"), (3000, "app"),
                         (4999, "κόσμε")]:
        ws = await websockets.connect(url(srv))
        await ws.send("x")
        await ws.recv()
        await ws.close(code, reason)
        expect_equal(ws.close_code, code, "the server echoes the close code")


@test()
async def server_closes_1003_on_binary_chat(srv):
    async with websockets.connect(url(srv, "/ws/chat")) as ws:
        await ws.send(b"\x01binary")
        try:
            await ws.recv()
            raise TestFailure("binary chat message was accepted")
        except ConnectionClosed:
            pass
        expect_equal(ws.close_code, 1003, "close code")
        expect_equal(ws.close_reason, "chat messages are JSON text", "close reason")


@test("small")
async def message_limit_1009(srv):
    limit = 64 << 10  # --ws-max-message 64KiB
    async with websockets.connect(url(srv), compression=None) as ws:
        await ws.send(pattern(limit))
        expect_equal(len(await ws.recv()), limit, "echo at the limit")
        await ws.send(pattern(limit + 1))
        await expect_closed(ws, 1009)
    async with websockets.connect(url(srv), compression="deflate") as ws:
        await ws.send(bytes(limit))  # compresses to a few hundred bytes
        expect_equal(await ws.recv(), bytes(limit), "compressed echo at the limit")
        await ws.send(bytes(limit + 1))
        await expect_closed(ws, 1009)


async def expect_closed(ws, code):
    try:
        got = await ws.recv()
        raise TestFailure(f"expected close {code}, got a message of {len(got)}")
    except ConnectionClosed:
        pass
    expect_equal(ws.close_code, code, "close code")


# Protocol errors the library never makes: raw frames on its transport.
RAW_ERRORS = [
    ("invalid UTF-8 text", raw_frame(1, b"\xce\xba\xed\xa0\x80"), 1007),
    ("text ending inside a character", raw_frame(1, b"ab\xe2\x82"), 1007),
    ("unmasked frame", raw_frame(1, b"hello", mask=False), 1002),
    ("RSV2 set", raw_frame(1, b"hello", rsv=2), 1002),
    ("RSV1 without deflate", raw_frame(1, b"hello", rsv=4), 1002),
    ("reserved opcode 3", raw_frame(3, b""), 1002),
    ("reserved control opcode 11", raw_frame(11, b""), 1002),
    ("fragmented ping", raw_frame(9, b"a", fin=False) + raw_frame(0, b"b"), 1002),
    ("ping of 126 bytes", raw_frame(9, b"p" * 126), 1002),
    ("continuation without a message", raw_frame(0, b"cont"), 1002),
    ("text inside a fragmented text",
     raw_frame(1, b"first", fin=False) + raw_frame(1, b"second"), 1002),
    ("close code 1005", raw_frame(8, struct.pack("!H", 1005)), 1002),
    ("close code 999", raw_frame(8, struct.pack("!H", 999)), 1002),
    ("close with a 1-byte payload", raw_frame(8, b"\x03"), 1002),
    ("close reason not UTF-8", raw_frame(8, struct.pack("!H", 1000) + b"\xff"), 1007),
]


@test()
async def raw_protocol_errors(srv):
    for name, data, code in RAW_ERRORS:
        async with websockets.connect(url(srv), compression=None) as ws:
            await ws.send("valid first")
            expect_equal(await ws.recv(), "valid first", name)
            ws.transport.write(data)
            try:
                await ws.recv()
                raise TestFailure(f"{name}: the server answered a message")
            except ConnectionClosed:
                pass
            expect_equal(ws.close_code, code, f"{name}: close code")
    # Everyone else is still served.
    async with websockets.connect(url(srv)) as ws:
        await ws.send("bystander")
        expect_equal(await ws.recv(), "bystander", "bystander echo")


@test()
async def raw_rsv1_on_control_with_deflate(srv):
    async with websockets.connect(url(srv), compression="deflate") as ws:
        ws.transport.write(raw_frame(9, b"x", rsv=4))
        await expect_closed(ws, 1002)


@test()
async def handshake_refusals(srv):
    try:
        async with websockets.connect(url(srv, "/ws/nowhere")):
            raise TestFailure("connected to an unknown path")
    except InvalidStatusCode as e:
        expect_equal(e.status_code, 404, "status for an unknown path")
    async with websockets.connect(url(srv), subprotocols=["chat.v9"]) as ws:
        expect_equal(ws.subprotocol, None, "no subprotocol is selected")
        await ws.send("ok")
        expect_equal(await ws.recv(), "ok", "echo")


@test("keepalive")
async def server_pings_are_answered_by_the_library(srv):
    # --ws-ping-interval 100ms --ws-pong-timeout 1s: a quiet peer is pinged
    # every ~100 ms; the library answers, so the connection lives on.
    async with websockets.connect(url(srv), create_protocol=PingCounting,
                                  ping_interval=None) as ws:
        await asyncio.wait_for(ws.three_pings.wait(), TIMEOUT)
        await ws.send("after three pings")
        expect_equal(await ws.recv(), "after three pings", "echo after keepalive pings")


@test("keepalive")
async def pong_timeout_drops_a_deaf_peer(srv):
    ws = await websockets.connect(url(srv), create_protocol=Deaf, ping_interval=None)
    t0 = time.monotonic()
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    check(ws.server_pings >= 1, "the server pinged before giving up")
    # No pong: the server drops the TCP connection without a close frame.
    expect_equal(ws.close_code, 1006, "close code seen by a peer that never answered")
    check(time.monotonic() - t0 >= 0.9, "dropped only after the pong timeout (1 s)")


@test("idle")
async def idle_timeout_closes_1000(srv):
    # --ws-idle-timeout 300ms: no message for 300 ms -> close 1000.
    async with websockets.connect(url(srv), ping_interval=None) as ws:
        t0 = time.monotonic()
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        expect_equal(ws.close_code, 1000, "idle close code")
        expect_equal(ws.close_reason, "idle timeout", "idle close reason")
        check(time.monotonic() - t0 >= 0.25, "closed only after the idle timeout")


async def chat_recv(ws):
    return json.loads(await ws.recv())


@test()
async def chat_channel_across_shards(srv):
    members = [await websockets.connect(url(srv, "/ws/chat")) for _ in range(20)]
    outsider = await websockets.connect(url(srv, "/ws/chat"))
    try:
        for ws in members:
            await ws.send(json.dumps({"type": "join_channel", "channel": "room"}))
        for ws in members:
            expect_equal(await chat_recv(ws), {"type": "joined", "channel": "room"}, "join reply")
        publishers, per_publisher = members[:3], 50

        async def publish(p, ws):
            for seq in range(per_publisher):
                await ws.send(json.dumps({"type": "channel_message", "channel": "room",
                                          "message": {"from": p, "seq": seq}}))

        async def collect(ws):
            seen = []
            while len(seen) < len(publishers) * per_publisher:
                m = await chat_recv(ws)
                expect_equal((m["type"], m["channel"]), ("channel_message", "room"),
                             "a member gets only channel messages")
                seen.append((m["message"]["from"], m["message"]["seq"]))
            return seen

        results = await asyncio.gather(*[collect(ws) for ws in members],
                                       *[publish(p, ws) for p, ws in enumerate(publishers)])
        for i, seen in enumerate(results[:len(members)]):
            check(len(set(seen)) == len(seen), f"member {i} got a message twice")
            for p in range(len(publishers)):
                expect_equal([s for f, s in seen if f == p], list(range(per_publisher)),
                             f"member {i}: messages of publisher {p}, in order")

        # The outsider got none of it: its next message is the answer to
        # its own request.
        await outsider.send(json.dumps({"type": "channel_message", "channel": "room",
                                        "message": "let me in"}))
        reply = await chat_recv(outsider)
        expect_equal(reply.get("type"), "error", "channel message from a non-member")

        # A global message reaches every /ws/chat connection once.
        await outsider.send(json.dumps({"type": "global_message", "message": [1, "two"]}))
        for ws in members + [outsider]:
            expect_equal(await chat_recv(ws), {"type": "global_message", "message": [1, "two"]},
                         "global message")

        # After leaving, a member no longer gets the channel.
        leaver = members[-1]
        await leaver.send(json.dumps({"type": "leave_channel", "channel": "room"}))
        expect_equal(await chat_recv(leaver), {"type": "left", "channel": "room"}, "leave reply")
        await members[0].send(json.dumps({"type": "channel_message", "channel": "room",
                                          "message": "last"}))
        for ws in members[:-1]:
            expect_equal((await chat_recv(ws))["message"], "last", "message after a leave")
        await leaver.send(json.dumps({"type": "nonsense"}))
        expect_equal((await chat_recv(leaver))["type"], "error",
                     "the leaver's next message is its own error reply")
    finally:
        await asyncio.gather(*[ws.close() for ws in members + [outsider]])


@test()
async def chat_slow_consumer_is_dropped_with_1008(srv):
    # A member that stops reading: its queue passes --ws-max-send-queue
    # (16 MiB) and it is closed with 1008; the others get everything.
    # max_queue=1 and a 64 KiB receive buffer keep what the slow client
    # itself absorbs small: with the server's socket buffer (4 MiB at most
    # here) about 21 MiB fit before the cap, and 40 MiB are sent.
    count, body = 160, "x" * (256 << 10)
    slow = await websockets.connect(url(srv, "/ws/chat"), max_queue=1, max_size=MiB,
                                    compression=None)
    slow.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    fast = await websockets.connect(url(srv, "/ws/chat"), max_size=MiB, compression=None)
    pub = await websockets.connect(url(srv, "/ws/chat"), max_size=MiB, compression=None)
    try:
        for ws in (slow, fast, pub):
            await ws.send(json.dumps({"type": "join_channel", "channel": "firehose"}))
            expect_equal((await chat_recv(ws))["type"], "joined", "join reply")

        async def publish():
            for i in range(count):
                await pub.send(json.dumps({"type": "channel_message", "channel": "firehose",
                                           "message": {"seq": i, "body": body}}))

        async def collect(ws):
            for i in range(count):
                m = await chat_recv(ws)
                expect_equal(m["message"]["seq"], i, "sequence number")
        await asyncio.gather(publish(), collect(fast), collect(pub))

        got = 0
        try:
            while True:
                m = await chat_recv(slow)
                expect_equal(m["message"]["seq"], got, "the slow member's sequence")
                got += 1
        except ConnectionClosed:
            pass
        expect_equal(slow.close_code, 1008, f"close code for a member that stopped reading "
                     f"(it got {got} of {count})")
        check(got < count, "the slow member was cut off before the end")
    finally:
        await asyncio.gather(*[ws.close() for ws in (slow, fast, pub)])


@test()
async def chat_errors_keep_the_connection(srv):
    async with websockets.connect(url(srv, "/ws/chat")) as ws:
        for bad in ["{not json", "[1,2]", '{"type":42}', '{"type":"dance"}',
                    '{"type":"join_channel"}', '{"type":"join_channel","channel":""}',
                    json.dumps({"type": "join_channel", "channel": "c" * 129})]:
            await ws.send(bad)
            expect_equal((await chat_recv(ws))["type"], "error", f"reply to {bad[:40]!r}")
        await ws.send(json.dumps({"type": "join_channel", "channel": "c" * 128}))
        expect_equal((await chat_recv(ws))["type"], "joined", "128-byte channel name")


@test()
async def many_concurrent_connections(srv):
    async def one(i):
        async with websockets.connect(url(srv), compression="deflate" if i % 2 else None) as ws:
            for j in range(5):
                m = f"client {i} message {j} " * (i % 7 + 1)
                await ws.send(m)
                expect_equal(await ws.recv(), m, "concurrent echo")
    await asyncio.gather(*[one(i) for i in range(100)])


async def graceful_shutdown(binary):
    # Its own server: SIGTERM closes every WebSocket with 1001, and the
    # process exits 0 once they are gone.
    with RingshardProcess(binary) as srv:
        clients = [await websockets.connect(url(srv)) for _ in range(6)]
        for ws in clients:
            await ws.send("before")
            await ws.recv()
        srv.proc.terminate()
        for ws in clients:
            await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
            expect_equal(ws.close_code, 1001, "close code on shutdown")
            expect_equal(ws.close_reason, "server shutting down", "reason on shutdown")
        code = await asyncio.get_running_loop().run_in_executor(None, srv.proc.wait, TIMEOUT)
        expect_equal(code, 0, "exit code after the drain")


SERVERS = {
    "default": [],
    "nodeflate": ["--ws-deflate=false"],
    "small": ["--ws-max-message", "64KiB"],
    "keepalive": ["--ws-ping-interval", "100ms", "--ws-pong-timeout", "1s"],
    "idle": ["--ws-idle-timeout", "300ms"],
}


async def run_all(binary, pattern):
    failures = 0
    servers = {}
    chosen = [t for t in TESTS if pattern is None or pattern in t[0]]
    try:
        for name, server, _ in chosen:
            if server not in servers:
                servers[server] = RingshardProcess(binary, SERVERS[server])
                servers[server].start()
        for name, server, fn in chosen:
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(fn(servers[server]), TIMEOUT)
                status = "PASS"
            except asyncio.TimeoutError:
                status = f"FAIL: no result within {TIMEOUT:.0f} s"
            except Exception as e:  # a failed check or an unexpected error
                status = f"FAIL: {type(e).__name__}: {e}"
            print(f"{status[:4]} {name} ({(time.monotonic() - t0) * 1000:.0f} ms)"
                  + (f"\n     {status[6:]}" if status != "PASS" else ""), flush=True)
            failures += status != "PASS"
            if not servers[server].alive():
                print(f"ringshard exited during {name}:\n{servers[server].output()}")
                return 1
        if pattern is None or pattern in "graceful_shutdown":
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(graceful_shutdown(binary), TIMEOUT)
                print(f"PASS graceful_shutdown ({(time.monotonic() - t0) * 1000:.0f} ms)")
            except Exception as e:
                print(f"FAIL graceful_shutdown\n     {type(e).__name__}: {e}")
                failures += 1
    finally:
        for name, s in servers.items():
            code = s.stop()
            if code != 0:
                print(f"FAIL ringshard ({name}) exited with {code} after SIGTERM:\n{s.output()}")
                failures += 1
    return 1 if failures else 0


def main():
    global TIMEOUT
    args = sys.argv[1:]
    pattern = args[args.index("-k") + 1] if "-k" in args else None
    if not args or not os.access(args[0], os.X_OK):
        sys.stderr.write(f"usage: {sys.argv[0]} PATH/TO/ringshard [-k SUBSTRING]\n")
        return 2
    if sanitized(args[0]):
        TIMEOUT *= 2
    print(f"python3-websockets {websockets.__version__}, Python {sys.version.split()[0]}")
    t0 = time.monotonic()
    rc = asyncio.run(run_all(args[0], pattern))
    print(f"{'all passed' if rc == 0 else 'FAILED'} in {time.monotonic() - t0:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
