#!/usr/bin/python3
"""WebSocket conformance of the ringshard binary, modelled on the
Autobahn|Testsuite fuzzingclient (which cannot be installed in CI).

    ws_conformance.py PATH/TO/ringshard [-k SUBSTRING] [-v]

Standard library only (socket, struct, zlib): a raw-socket client that
writes every byte itself, so it can send what no well-behaved library
would. Sections follow Autobahn's numbering:

   0 opening handshakes as browsers write them (not in Autobahn)
   1 framing: text/binary of 0..1 MiB, whole, chopped and byte-by-byte writes
   2 pings and pongs      3 reserved bits      4 reserved opcodes
   5 fragmentation        6 UTF-8 (Markus Kuhn's stress test, fail-fast)
   7 closing handshake    9 large messages and the 16 MiB limit
  10 odd TCP write boundaries
  12 permessage-deflate messages   13 permessage-deflate negotiation

Each case opens its own connection to /ws/echo and ends with a closing
handshake. A case is OK when the server echoed (or answered) what RFC 6455
or 7692 asks for, its close frame was well formed, and it closed the TCP
connection itself afterwards. Otherwise:
  FAILED      wrong or missing answer, or a malformed frame from the server
  WRONG CODE  a well-formed close with another code than expected
  UNCLEAN     the TCP connection dropped without a close frame, reset, or
              left open after the closing handshake
A summary table per section follows; the exit status is 1 if any case is
not OK. Bounded in time: every read has a deadline, the whole run too.
"""

import os
import signal
import socket
import struct
import sys
import threading
import time
import zlib

# Import the helpers beside this file without leaving __pycache__ in the
# source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_conformance_client import (  # noqa: E402
    FAILED, OK, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, STATUSES,
    UNCLEAN, WRONG_CODE, CaseError, ClientDeflate, Conn, binary_payload, close_payload,
    compressible, failed, first_difference, frame, parse_close,
    parse_extension_response, text_payload)
from ws_python_support import RingshardProcess, sanitized  # noqa: E402

MAX_MESSAGE = 16 << 20  # the server's default --ws-max-message and --ws-max-frame

# Cases the lead has agreed are known server failures (id -> why). Empty:
# every failure counts.
KNOWN_FAILURES = {}


# --- the case registry ---------------------------------------------------------

class Case:
    def __init__(self, section, number, name, fn, server):
        self.section, self.number, self.name, self.fn, self.server = (
            section, number, name, fn, server)

    @property
    def id(self):
        return f"{self.section}.{self.number}"


CASES = []
_counters = {}


def case(section, name, server="default"):
    def register(fn):
        _counters[section] = _counters.get(section, 0) + 1
        CASES.append(Case(section, _counters[section], name, fn, server))
        return fn
    return register


def add(section, name, fn, server="default"):
    case(section, name, server)(fn)


# Helpers used by many cases. Each takes the port of the server to use.

def echo_case(port, op, payload, chunk=None, frag=None):
    c = Conn(port)
    try:
        if frag is None:
            c.send_frame(op, payload, chunk=chunk)
        else:
            pieces = [payload[i:i + frag] for i in range(0, len(payload), frag)] or [b""]
            data = bytearray()
            for i, p in enumerate(pieces):
                data += frame(op if i == 0 else OP_CONT, p, fin=i == len(pieces) - 1)
            c.send(bytes(data), chunk)
        c.expect_echo(op, payload)
        c.close_handshake()
    finally:
        c.close()


def error_case(port, data, code, before=(), chunk=None):
    """Sends `before` (frames whose echo is expected first) and `data` in
    one write; the server must close with `code` and answer nothing more."""
    c = Conn(port)
    try:
        c.send(b"".join(frame(op, p) for op, p in before) + data, chunk)
        for op, p in before:
            c.expect_echo(op, p)
        c.expect_close(code)
    finally:
        c.close()


def fail_fast_case(port, first, rest, code):
    """Sends `first`; the server must close with `code` before `rest` is
    sent (it judges what it has, it does not wait for the message)."""
    c = Conn(port)
    try:
        c.send(first)
        f = c.read_frame()
        if f.op != OP_CLOSE:
            raise failed(f"expected close {code} before the rest was sent, got {f!r}")
        got = parse_close(f.payload)
        try:
            c.sock.sendall(rest + frame(OP_CLOSE, f.payload[:2]))
        except OSError:
            pass
        if got != code:
            raise CaseError(WRONG_CODE, f"close {got}, expected {code}")
        c.expect_eof()
    finally:
        c.close()


# ============================================================================
# 0 Opening handshakes as browsers and libraries write them (not Autobahn)
# ============================================================================

def handshake_case(port, path="/ws/echo", headers=(), status=101, extensions=None,
                   protocol=None):
    c = Conn(port, path=path, headers=headers, expect_status=status)
    try:
        if status != 101:
            return
        got = c.headers.get("sec-websocket-extensions")
        if got != extensions:
            raise failed(f"Sec-WebSocket-Extensions {got!r}, expected {extensions!r}")
        got = c.headers.get("sec-websocket-protocol")
        if got != protocol:
            raise failed(f"Sec-WebSocket-Protocol {got!r}, expected {protocol!r}")
        c.deflate = extensions is not None
        c.send_frame(OP_TEXT, b"after the handshake")
        c.expect_echo(OP_TEXT, b"after the handshake")
        c.close_handshake()
    finally:
        c.close()


for _name, _kw in [
        ("Connection: keep-alive, Upgrade (Firefox)",
         dict(headers=[("Connection", "keep-alive, Upgrade")])),
        ("Upgrade: WebSocket, lower-case header names",
         dict(headers=[("Upgrade", "WebSocket"), ("connection", "upgrade"),
                       ("sec-websocket-version", "13")])),
        ("a query string", dict(path="/ws/echo?token=abc&x=%20")),
        ("Origin and User-Agent", dict(headers=[("Origin", "http://example.com"),
                                                ("User-Agent", "conformance/1")])),
        ("subprotocols offered to an endpoint that has none: none selected",
         dict(headers=[("Sec-WebSocket-Protocol", "chat, superchat")])),
        ("Sec-WebSocket-Extensions on two lines",
         dict(headers=[("+Sec-WebSocket-Extensions", "x-unknown"),
                       ("+Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")],
              extensions="permessage-deflate")),
        ("Chromium's offer", dict(headers=[("Sec-WebSocket-Extensions",
                                            "permessage-deflate; client_max_window_bits")],
                                  extensions="permessage-deflate")),
        ("no Host -> 400", dict(headers=[("Host", None)], status=400)),
        ("unknown path -> 404", dict(path="/ws/nowhere", status=404)),
        ("Sec-WebSocket-Version: 8 -> 426", dict(headers=[("Sec-WebSocket-Version", "8")], status=426)),
        ("no Sec-WebSocket-Key -> 400", dict(headers=[("Sec-WebSocket-Key", None)], status=400))]:
    add("0", _name, lambda port, kw=_kw: handshake_case(port, **kw))


# ============================================================================
# 1 Framing
# ============================================================================

SIZES = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20]
for _op, _kind, _gen in ((OP_TEXT, "text", text_payload), (OP_BINARY, "binary", binary_payload)):
    for _size in SIZES:
        _p = _gen(_size)
        add("1", f"{_kind} {_size} bytes, one write",
            lambda port, op=_op, p=_p: echo_case(port, op, p))
        add("1", f"{_kind} {_size} bytes, written in chops of 997 bytes",
            lambda port, op=_op, p=_p: echo_case(port, op, p, chunk=997))
        if _size <= 128:
            add("1", f"{_kind} {_size} bytes, written byte by byte",
                lambda port, op=_op, p=_p: echo_case(port, op, p, chunk=1))
    add("1", f"{_kind} 65536 bytes, 8 messages in one write",
        lambda port, op=_op, gen=_gen: pipelined(port, op, [gen(65536, s) for s in range(8)]))


def pipelined(port, op, payloads, chunk=None):
    c = Conn(port)
    try:
        c.send(b"".join(frame(op, p) for p in payloads), chunk)
        for p in payloads:
            c.expect_echo(op, p)
        c.close_handshake()
    finally:
        c.close()


@case("1", "frames in the same write as the upgrade request")
def _(port):
    early = frame(OP_TEXT, b"early", fin=False) + frame(OP_PING, b"p") + frame(OP_CONT, b" bird")
    early += frame(OP_BINARY, binary_payload(70000))
    c = Conn(port, early=early)
    try:
        c.expect_pong(b"p")
        c.expect_echo(OP_TEXT, b"early bird")
        c.expect_echo(OP_BINARY, binary_payload(70000))
        c.close_handshake()
    finally:
        c.close()


@case("1", "the upgrade request, a message and a close in one write")
def _(port):
    c = Conn(port, early=frame(OP_TEXT, b"hi") + frame(OP_CLOSE, close_payload(1000)))
    try:
        c.expect_echo(OP_TEXT, b"hi")
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("1", "unmasked client frame -> 1002")
def _(port):
    error_case(port, frame(OP_TEXT, b"Hello", mask=False), 1002)


@case("1", "64-bit length with the top bit set -> 1002")
def _(port):
    error_case(port, bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 63) + os.urandom(4), 1002)


# ============================================================================
# 2 Pings and pongs
# ============================================================================

def ping_case(port, payloads, chunk=None):
    c = Conn(port)
    try:
        c.send(b"".join(frame(OP_PING, p) for p in payloads), chunk)
        for p in payloads:
            c.expect_pong(p)
        c.close_handshake()
    finally:
        c.close()


add("2", "ping, empty payload", lambda port: ping_case(port, [b""]))
add("2", "ping, text payload", lambda port: ping_case(port, [b"Hello, world!"]))
add("2", "ping, binary payload", lambda port: ping_case(port, [b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"]))
add("2", "ping, 125-byte payload", lambda port: ping_case(port, [binary_payload(125)]))
add("2", "ping, 125-byte payload written byte by byte",
    lambda port: ping_case(port, [binary_payload(125)], chunk=1))
add("2", "pings with every payload size 0..125, one write",
    lambda port: ping_case(port, [binary_payload(n, n) for n in range(126)]))
add("2", "1000 pings in one write", lambda port: ping_case(port, [b"%d" % i for i in range(1000)]))
add("2", "10 pings in a row", lambda port: ping_case(port, [b"ping %d" % i for i in range(10)]))
add("2", "10 pings in a row, written in chops of 1 byte",
    lambda port: ping_case(port, [b"ping %d" % i for i in range(10)], chunk=1))
add("2", "ping with a 126-byte payload -> 1002",
    lambda port: error_case(port, frame(OP_PING, binary_payload(126)), 1002))
add("2", "ping with a 64-bit length of 5 -> 1002",
    lambda port: error_case(port, b"\x89\xff" + struct.pack("!Q", 5) + os.urandom(4) + b"hello", 1002))


@case("2", "unsolicited pong, empty: no answer")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_PONG) + frame(OP_TEXT, b"after"))
        c.expect_echo(OP_TEXT, b"after")
        c.close_handshake()
    finally:
        c.close()


@case("2", "unsolicited pong with payload: no answer")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_PONG, b"unsolicited pong payload") + frame(OP_TEXT, b"after"))
        c.expect_echo(OP_TEXT, b"after")
        c.close_handshake()
    finally:
        c.close()


@case("2", "unsolicited pong, then ping: only the ping is answered")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_PONG, b"unsolicited") + frame(OP_PING, b"solicited"))
        c.expect_pong(b"solicited")
        c.close_handshake()
    finally:
        c.close()


# ============================================================================
# 3 Reserved bits
# ============================================================================

for _rsv in range(1, 8):
    add("3", f"text with RSV={_rsv} -> 1002",
        lambda port, r=_rsv: error_case(port, frame(OP_TEXT, b"Hello", rsv=r), 1002))
add("3", "text with RSV=2 after a valid message, then ping: echo, 1002, no pong",
    lambda port: error_case(port, frame(OP_TEXT, b"Hello", rsv=2) + frame(OP_PING),
                            1002, before=[(OP_TEXT, b"Hello")]))
add("3", "text with RSV=3 after a valid message, written byte by byte",
    lambda port: error_case(port, frame(OP_TEXT, b"Hello", rsv=3) + frame(OP_PING),
                            1002, before=[(OP_TEXT, b"Hello")], chunk=1))
add("3", "binary with RSV=6 -> 1002",
    lambda port: error_case(port, frame(OP_BINARY, b"\x00\xff\xfe", rsv=6), 1002))
add("3", "ping with RSV=7 -> 1002",
    lambda port: error_case(port, frame(OP_PING, b"Hello", rsv=7), 1002))
add("3", "ping with RSV1 -> 1002",
    lambda port: error_case(port, frame(OP_PING, b"Hello", rsv=4), 1002))
add("3", "close with RSV=4 -> 1002",
    lambda port: error_case(port, frame(OP_CLOSE, close_payload(1000), rsv=4), 1002))
add("3", "continuation with RSV=1 -> 1002",
    lambda port: error_case(port, frame(OP_TEXT, b"He", fin=False) + frame(OP_CONT, b"llo", rsv=1), 1002))

# ============================================================================
# 4 Reserved opcodes
# ============================================================================

for _op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
    add("4", f"opcode {_op}, empty -> 1002",
        lambda port, op=_op: error_case(port, frame(op), 1002))
    add("4", f"opcode {_op} with payload after a valid message, then ping -> echo, 1002",
        lambda port, op=_op: error_case(port, frame(op, b"reserved") + frame(OP_PING),
                                        1002, before=[(OP_TEXT, b"Hello")]))
add("4", "opcode 5 inside a fragmented message -> 1002",
    lambda port: error_case(port, frame(OP_TEXT, b"frag", fin=False) + frame(5, b"x"), 1002))

# ============================================================================
# 5 Fragmentation
# ============================================================================

add("5", "fragmented ping -> 1002",
    lambda port: error_case(port, frame(OP_PING, b"frag", fin=False) + frame(OP_CONT, b"ment"), 1002))
add("5", "fragmented pong -> 1002",
    lambda port: error_case(port, frame(OP_PONG, b"frag", fin=False) + frame(OP_CONT, b"ment"), 1002))
add("5", "fragmented close -> 1002",
    lambda port: error_case(port, frame(OP_CLOSE, b"\x03\xe8", fin=False) + frame(OP_CONT, b"x"), 1002))
add("5", "text in 2 fragments", lambda port: echo_case(port, OP_TEXT, b"fragment1fragment2", frag=9))
add("5", "text in 2 fragments, byte by byte",
    lambda port: echo_case(port, OP_TEXT, b"fragment1fragment2", frag=9, chunk=1))
add("5", "binary in 2 fragments", lambda port: echo_case(port, OP_BINARY, b"\x00\x01\x02\x03", frag=2))
add("5", "text in 1000 fragments of 1 byte",
    lambda port: echo_case(port, OP_TEXT, text_payload(1000), frag=1))
add("5", "binary in 70000 fragments of 1 byte",
    lambda port: echo_case(port, OP_BINARY, binary_payload(70000), frag=1))


def fragments_with_controls(port, chunk=None, pings=1):
    c = Conn(port)
    try:
        data = frame(OP_TEXT, b"fragment1", fin=False)
        for i in range(pings):
            data += frame(OP_PING, b"ping %d" % i)
        data += frame(OP_CONT, b"fragment2", fin=False)
        data += frame(OP_PONG, b"unsolicited")
        data += frame(OP_CONT, b"fragment3")
        c.send(data, chunk)
        for i in range(pings):
            c.expect_pong(b"ping %d" % i)
        c.expect_echo(OP_TEXT, b"fragment1fragment2fragment3")
        c.close_handshake()
    finally:
        c.close()


add("5", "pings and a pong between fragments", lambda port: fragments_with_controls(port))
add("5", "pings and a pong between fragments, byte by byte",
    lambda port: fragments_with_controls(port, chunk=1))
add("5", "10 pings between fragments", lambda port: fragments_with_controls(port, pings=10))


add("5", "text split inside a character, a ping between the halves",
    lambda port: fragments_split_char(port))


def fragments_split_char(port):
    c = Conn(port)
    try:
        c.send(frame(OP_TEXT, KOSME[:3], fin=False) + frame(OP_PING, b"mid") +
               frame(OP_CONT, KOSME[3:8], fin=False) + frame(OP_PONG, b"x") + frame(OP_CONT, KOSME[8:]))
        c.expect_pong(b"mid")
        c.expect_echo(OP_TEXT, KOSME)
        c.close_handshake()
    finally:
        c.close()


@case("5", "ping between fragments is answered before the message ends")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_TEXT, b"first", fin=False) + frame(OP_PING, b"mid"))
        c.expect_pong(b"mid")
        c.send(frame(OP_CONT, b"last"))
        c.expect_echo(OP_TEXT, b"firstlast")
        c.close_handshake()
    finally:
        c.close()


add("5", "continuation (FIN) with no message -> 1002",
    lambda port: error_case(port, frame(OP_CONT, b"non-continuation payload"), 1002))
add("5", "continuation (no FIN) with no message -> 1002",
    lambda port: error_case(port, frame(OP_CONT, b"fragment1", fin=False) +
                            frame(OP_CONT, b"fragment2"), 1002))
add("5", "continuation after a finished message -> echo, 1002",
    lambda port: error_case(port, frame(OP_CONT, b"fragment2"), 1002,
                            before=[(OP_TEXT, b"fragment1")]))
add("5", "continuation with no message, byte by byte -> 1002",
    lambda port: error_case(port, frame(OP_CONT, b"fragment1", fin=False) +
                            frame(OP_CONT, b"fragment2"), 1002, chunk=1))
add("5", "message, then unstarted continuation fragments -> echo, 1002",
    lambda port: error_case(port, frame(OP_CONT, b"fragment2", fin=False) + frame(OP_CONT, b"x"),
                            1002, before=[(OP_TEXT, b"fragment1")]))
add("5", "text after an unfinished fragmented text -> 1002",
    lambda port: error_case(port, frame(OP_TEXT, b"fragment1", fin=False) +
                            frame(OP_TEXT, b"fragment2"), 1002))
add("5", "text (no FIN) after an unfinished fragmented text -> 1002",
    lambda port: error_case(port, frame(OP_TEXT, b"fragment1", fin=False) +
                            frame(OP_TEXT, b"fragment2", fin=False) + frame(OP_CONT, b"x"), 1002))
add("5", "binary after an unfinished fragmented text -> 1002",
    lambda port: error_case(port, frame(OP_TEXT, b"fragment1", fin=False) +
                            frame(OP_BINARY, b"fragment2"), 1002))


@case("5", "empty fragments: text '' + '' + '' -> ''")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_TEXT, b"", fin=False) + frame(OP_CONT, b"", fin=False) + frame(OP_CONT, b""))
        c.expect_echo(OP_TEXT, b"")
        c.close_handshake()
    finally:
        c.close()


@case("5", "empty fragments around data")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_BINARY, b"", fin=False) + frame(OP_CONT, b"ab", fin=False) +
               frame(OP_CONT, b"", fin=False) + frame(OP_CONT, b"cd", fin=False) + frame(OP_CONT, b""))
        c.expect_echo(OP_BINARY, b"abcd")
        c.close_handshake()
    finally:
        c.close()


@case("5", "close in the middle of a fragmented message")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_TEXT, b"fragment1", fin=False) + frame(OP_CLOSE, close_payload(1000)))
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("5", "two fragmented messages back to back, with pings")
def _(port):
    c = Conn(port)
    try:
        data = b""
        for m in range(2):
            data += frame(OP_TEXT, b"m%d-a" % m, fin=False) + frame(OP_PING, b"p%d" % m)
            data += frame(OP_CONT, b"-b", fin=False) + frame(OP_CONT, b"-c")
        c.send(data)
        for m in range(2):
            c.expect_pong(b"p%d" % m)
            c.expect_echo(OP_TEXT, b"m%d-a-b-c" % m)
        c.close_handshake()
    finally:
        c.close()


# ============================================================================
# 6 UTF-8
# ============================================================================

KOSME = "κόσμε".encode()
HELLO_UTF8 = "Hello-µ@ßöäüàá-UTF-8!!".encode()

# Markus Kuhn's UTF-8 decoder stress test (sections 2-5), byte sequences.
# Python's strict decoder is the oracle for valid/invalid: it rejects
# overlong forms, surrogates, code points above U+10FFFF and 5/6-byte
# forms, and accepts noncharacters, as RFC 3629 does.
KUHN = [
    ("1 kosme", KOSME),
    ("2.1.1 U+0000", b"\x00"), ("2.1.2 U+0080", b"\xc2\x80"),
    ("2.1.3 U+0800", b"\xe0\xa0\x80"), ("2.1.4 U+10000", b"\xf0\x90\x80\x80"),
    ("2.1.5 5 bytes U+200000", b"\xf8\x88\x80\x80\x80"),
    ("2.1.6 6 bytes U+4000000", b"\xfc\x84\x80\x80\x80\x80"),
    ("2.2.1 U+007F", b"\x7f"), ("2.2.2 U+07FF", b"\xdf\xbf"), ("2.2.3 U+FFFF", b"\xef\xbf\xbf"),
    ("2.2.4 U+1FFFFF", b"\xf7\xbf\xbf\xbf"), ("2.2.5 U+3FFFFFF", b"\xfb\xbf\xbf\xbf\xbf"),
    ("2.2.6 U+7FFFFFFF", b"\xfd\xbf\xbf\xbf\xbf\xbf"),
    ("2.3.1 U+D7FF", b"\xed\x9f\xbf"), ("2.3.2 U+E000", b"\xee\x80\x80"),
    ("2.3.3 U+FFFD", b"\xef\xbf\xbd"), ("2.3.4 U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("2.3.5 U+110000", b"\xf4\x90\x80\x80"),
    ("3.1.1 0x80", b"\x80"), ("3.1.2 0xbf", b"\xbf"), ("3.1.3 2 continuations", b"\x80\xbf"),
    ("3.1.4 3 continuations", b"\x80\xbf\x80"), ("3.1.5 4 continuations", b"\x80\xbf\x80\xbf"),
    ("3.1.6 5 continuations", b"\x80\xbf\x80\xbf\x80"),
    ("3.1.7 6 continuations", b"\x80\xbf\x80\xbf\x80\xbf"),
    ("3.1.8 7 continuations", b"\x80\xbf\x80\xbf\x80\xbf\x80"),
    ("3.1.9 all 64 continuation bytes", bytes(range(0x80, 0xC0))),
    ("3.2.1 2-byte starts each followed by a space", b"".join(bytes([b, 0x20]) for b in range(0xC0, 0xE0))),
    ("3.2.2 3-byte starts each followed by a space", b"".join(bytes([b, 0x20]) for b in range(0xE0, 0xF0))),
    ("3.2.3 4-byte starts each followed by a space", b"".join(bytes([b, 0x20]) for b in range(0xF0, 0xF8))),
    ("3.2.4 5-byte starts each followed by a space", b"".join(bytes([b, 0x20]) for b in range(0xF8, 0xFC))),
    ("3.2.5 6-byte starts each followed by a space", b"\xfc \xfd "),
    ("3.3.1 2-byte, last byte missing (U+0000)", b"\xc0"),
    ("3.3.2 3-byte, last byte missing (U+0000)", b"\xe0\x80"),
    ("3.3.3 4-byte, last byte missing (U+0000)", b"\xf0\x80\x80"),
    ("3.3.4 5-byte, last byte missing (U+0000)", b"\xf8\x80\x80\x80"),
    ("3.3.5 6-byte, last byte missing (U+0000)", b"\xfc\x80\x80\x80\x80"),
    ("3.3.6 2-byte, last byte missing (U+07FF)", b"\xdf"),
    ("3.3.7 3-byte, last byte missing (U+FFFF)", b"\xef\xbf"),
    ("3.3.8 4-byte, last byte missing (U+1FFFFF)", b"\xf7\xbf\xbf"),
    ("3.3.9 5-byte, last byte missing", b"\xfb\xbf\xbf\xbf"),
    ("3.3.10 6-byte, last byte missing", b"\xfd\xbf\xbf\xbf\xbf"),
    ("3.4 concatenation of incomplete sequences",
     b"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
     b"\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"),
    ("3.5.1 0xfe", b"\xfe"), ("3.5.2 0xff", b"\xff"), ("3.5.3 fe fe ff ff", b"\xfe\xfe\xff\xff"),
    ("4.1.1 overlong '/' 2 bytes", b"\xc0\xaf"), ("4.1.2 overlong '/' 3 bytes", b"\xe0\x80\xaf"),
    ("4.1.3 overlong '/' 4 bytes", b"\xf0\x80\x80\xaf"),
    ("4.1.4 overlong '/' 5 bytes", b"\xf8\x80\x80\x80\xaf"),
    ("4.1.5 overlong '/' 6 bytes", b"\xfc\x80\x80\x80\x80\xaf"),
    ("4.2.1 max overlong 2 bytes", b"\xc1\xbf"), ("4.2.2 max overlong 3 bytes", b"\xe0\x9f\xbf"),
    ("4.2.3 max overlong 4 bytes", b"\xf0\x8f\xbf\xbf"),
    ("4.2.4 max overlong 5 bytes", b"\xf8\x87\xbf\xbf\xbf"),
    ("4.2.5 max overlong 6 bytes", b"\xfc\x83\xbf\xbf\xbf\xbf"),
    ("4.3.1 overlong NUL 2 bytes", b"\xc0\x80"), ("4.3.2 overlong NUL 3 bytes", b"\xe0\x80\x80"),
    ("4.3.3 overlong NUL 4 bytes", b"\xf0\x80\x80\x80"),
    ("4.3.4 overlong NUL 5 bytes", b"\xf8\x80\x80\x80\x80"),
    ("4.3.5 overlong NUL 6 bytes", b"\xfc\x80\x80\x80\x80\x80"),
    ("5.1.1 U+D800", b"\xed\xa0\x80"), ("5.1.2 U+DB7F", b"\xed\xad\xbf"),
    ("5.1.3 U+DB80", b"\xed\xae\x80"), ("5.1.4 U+DBFF", b"\xed\xaf\xbf"),
    ("5.1.5 U+DC00", b"\xed\xb0\x80"), ("5.1.6 U+DF80", b"\xed\xbe\x80"),
    ("5.1.7 U+DFFF", b"\xed\xbf\xbf"),
    ("5.2.1 U+D800 U+DC00", b"\xed\xa0\x80\xed\xb0\x80"),
    ("5.2.2 U+D800 U+DFFF", b"\xed\xa0\x80\xed\xbf\xbf"),
    ("5.2.3 U+DB7F U+DC00", b"\xed\xad\xbf\xed\xb0\x80"),
    ("5.2.4 U+DB7F U+DFFF", b"\xed\xad\xbf\xed\xbf\xbf"),
    ("5.2.5 U+DB80 U+DC00", b"\xed\xae\x80\xed\xb0\x80"),
    ("5.2.6 U+DB80 U+DFFF", b"\xed\xae\x80\xed\xbf\xbf"),
    ("5.2.7 U+DBFF U+DC00", b"\xed\xaf\xbf\xed\xb0\x80"),
    ("5.2.8 U+DBFF U+DFFF", b"\xed\xaf\xbf\xed\xbf\xbf"),
    ("5.3.1 U+FFFE", b"\xef\xbf\xbe"), ("5.3.2 U+FFFF", b"\xef\xbf\xbf"),
    ("5.3.3 U+FDD0..U+FDEF", "".join(chr(c) for c in range(0xFDD0, 0xFDF0)).encode()),
    ("5.3.4 U+nFFFE and U+nFFFF, planes 1..16",
     "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(1, 17)).encode()),
    # Around the edges of the ranges a validator checks by hand.
    ("E0 A0..BF lower bound", b"\xe0\xa0\x80\xe0\xbf\xbf"),
    ("E0 9F overlong", b"\xe0\x9f\x80"),
    ("ED 9F valid / ED A0 surrogate", b"\xed\x9f\xbf\xed\xa0\x80"),
    ("F0 90 lower bound", b"\xf0\x90\x80\x80\xf0\xbf\xbf\xbf"),
    ("F0 8F overlong", b"\xf0\x8f\x80\x80"),
    ("F4 8F upper bound", b"\xf4\x80\x80\x80\xf4\x8f\xbf\xbf"),
    ("F5 start byte", b"\xf5\x80\x80\x80"),
    ("C2 followed by ASCII", b"\xc2\x41"),
    ("3-byte sequence cut by ASCII", b"\xe2\x82\x41"),
    ("4-byte sequence cut by a start byte", b"\xf0\x9f\x98\xf0\x9f\x98\x80"),
]


def is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def utf8_case(port, payload, frag=None, chunk=None):
    if is_utf8(payload):
        echo_case(port, OP_TEXT, payload, chunk=chunk, frag=frag)
        return
    if frag is None:
        data = frame(OP_TEXT, payload)
    else:
        pieces = [payload[i:i + frag] for i in range(0, len(payload), frag)]
        data = b"".join(frame(OP_TEXT if i == 0 else OP_CONT, p, fin=i == len(pieces) - 1)
                        for i, p in enumerate(pieces))
    error_case(port, data, 1007, chunk=chunk)


add("6", "empty text in 3 empty fragments", lambda port: echo_case(port, OP_TEXT, b"", frag=1))
add("6", "valid UTF-8 text, one frame", lambda port: echo_case(port, OP_TEXT, HELLO_UTF8))
add("6", "valid UTF-8 text, one frame, byte by byte",
    lambda port: echo_case(port, OP_TEXT, HELLO_UTF8, chunk=1))
add("6", "valid UTF-8 text in 1-byte fragments",
    lambda port: echo_case(port, OP_TEXT, HELLO_UTF8, frag=1))


@case("6", "valid UTF-8 text split into 2 fragments at every byte")
def _(port):
    c = Conn(port)
    try:
        for i in range(len(HELLO_UTF8) + 1):
            c.send(frame(OP_TEXT, HELLO_UTF8[:i], fin=False) + frame(OP_CONT, HELLO_UTF8[i:]))
            c.expect_echo(OP_TEXT, HELLO_UTF8)
        c.close_handshake()
    finally:
        c.close()


@case("6", "kosme split into 3 fragments at every pair of bytes")
def _(port):
    c = Conn(port)
    try:
        n = len(KOSME)
        for i in range(n + 1):
            for j in range(i, n + 1):
                c.send(frame(OP_TEXT, KOSME[:i], fin=False) +
                       frame(OP_CONT, KOSME[i:j], fin=False) + frame(OP_CONT, KOSME[j:]))
                c.expect_echo(OP_TEXT, KOSME)
        c.close_handshake()
    finally:
        c.close()


for _name, _seq in KUHN:
    _verdict = "echo" if is_utf8(_seq) else "1007"
    add("6", f"Kuhn {_name}, one frame -> {_verdict}",
        lambda port, s=_seq: utf8_case(port, s))
    _wrapped = KOSME + b"|" + _seq + b"|" + KOSME
    add("6", f"Kuhn {_name} inside text, 1-byte fragments -> {_verdict}",
        lambda port, s=_wrapped: utf8_case(port, s, frag=1))
    add("6", f"Kuhn {_name} inside text, one frame, byte by byte -> {_verdict}",
        lambda port, s=_wrapped: utf8_case(port, s, chunk=1))

_invalid = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
add("6", "text ending inside a character -> 1007",
    lambda port: utf8_case(port, KOSME + b"\xce"))
add("6", "fragmented text ending inside a character -> 1007",
    lambda port: utf8_case(port, KOSME + b"\xe2\x82", frag=3))
add("6", "invalid UTF-8 after valid messages -> echoes, 1007",
    lambda port: error_case(port, frame(OP_TEXT, _invalid), 1007,
                            before=[(OP_TEXT, KOSME), (OP_TEXT, HELLO_UTF8)]))
add("6", "binary with invalid UTF-8 is fine",
    lambda port: echo_case(port, OP_BINARY, _invalid))
# Fail fast (Autobahn 6.4): the close comes before the rest is sent.
add("6", "fail fast: invalid sequence in the first fragment",
    lambda port: fail_fast_case(port, frame(OP_TEXT, KOSME + b"\xf4\x90\x80\x80", fin=False),
                                frame(OP_CONT, b"edited"), 1007))
add("6", "fail fast: invalid sequence completed by the second fragment",
    lambda port: fail_fast_case(port, frame(OP_TEXT, KOSME + b"\xf4", fin=False) +
                                frame(OP_CONT, b"\x90", fin=False),
                                frame(OP_CONT, b"\x80\x80edited"), 1007))
add("6", "fail fast: surrogate in the first fragment of 3",
    lambda port: fail_fast_case(port, frame(OP_TEXT, b"ab\xed\xa0\x80", fin=False),
                                frame(OP_CONT, b"cd", fin=False) + frame(OP_CONT, b"ef"), 1007))


def partial_frame(payload, cut):
    """A text frame whose payload is sent only up to `cut`: (sent, rest)."""
    whole = frame(OP_TEXT, payload)
    head = len(whole) - len(payload)
    return whole[:head + cut], whole[head + cut:]


add("6", "fail fast: invalid sequence in the first part of one frame",
    lambda port: fail_fast_case(port, *partial_frame(KOSME + b"\xf4\x90\x80\x80edited" + b"x" * 1000,
                                                     len(KOSME) + 4), 1007))
add("6", "fail fast: invalid second byte in the middle of one frame",
    lambda port: fail_fast_case(port, *partial_frame(KOSME + b"\xf4\x90\x80\x80edited" + b"x" * 1000,
                                                     len(KOSME) + 2), 1007))

# ============================================================================
# 7 Closing handshake
# ============================================================================


@case("7", "echo, then a normal close")
def _(port):
    c = Conn(port)
    try:
        c.send_frame(OP_TEXT, b"Hello")
        c.expect_echo(OP_TEXT, b"Hello")
        c.close_handshake(1000)
    finally:
        c.close()


@case("7", "close twice: the second is ignored")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_CLOSE, close_payload(1001)))
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("7", "ping after close: no pong")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_PING, b"after close"))
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("7", "text after close: no echo")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_CLOSE, close_payload(1000)) + frame(OP_TEXT, b"after close"))
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("7", "fragment, close, continuation: only the close is answered")
def _(port):
    c = Conn(port)
    try:
        c.send(frame(OP_TEXT, b"fragment1", fin=False) + frame(OP_CLOSE, close_payload(1000)) +
               frame(OP_CONT, b"fragment2"))
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("7", "256 KiB message, ping, close: echo, pong, close in order")
def _(port):
    c = Conn(port)
    try:
        big = text_payload(256 << 10)
        c.send(frame(OP_TEXT, big) + frame(OP_PING, b"p") + frame(OP_CLOSE, close_payload(1000)))
        c.expect_echo(OP_TEXT, big)
        c.expect_pong(b"p")
        c.expect_close(1000, answer=False)
    finally:
        c.close()


@case("7", "the server closes TCP first after the closing handshake")
def _(port):
    c = Conn(port)
    try:
        c.send_frame(OP_CLOSE, close_payload(1000))
        # We neither shut down nor close: the server must end the connection.
        c.expect_close(1000, answer=False)
    finally:
        c.close()


add("7", "empty close -> empty close",
    lambda port: close_case(port, b"", None))
add("7", "close with a 1-byte payload -> 1002",
    lambda port: error_case(port, frame(OP_CLOSE, b"\x03"), 1002))
add("7", "close 1000 with a reason", lambda port: close_case(port, close_payload(1000, b"Hello World!"), 1000))
add("7", "close 1000 with a 123-byte reason",
    lambda port: close_case(port, close_payload(1000, b"*" * 123), 1000))
add("7", "close 1000 with a 124-byte reason (payload 126) -> 1002",
    lambda port: error_case(port, frame(OP_CLOSE, close_payload(1000, b"*" * 124)), 1002))
add("7", "close reason with invalid UTF-8 -> 1007",
    lambda port: error_case(port, frame(OP_CLOSE, close_payload(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")), 1007))
add("7", "close reason in valid UTF-8", lambda port: close_case(port, close_payload(1000, KOSME), 1000))
add("7", "close written byte by byte",
    lambda port: close_case(port, close_payload(1000, b"bye"), 1000, chunk=1))
for _code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
    add("7", f"close code {_code} is echoed",
        lambda port, code=_code: close_case(port, close_payload(code), code))
for _code in (0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535):
    add("7", f"close code {_code} -> 1002",
        lambda port, code=_code: error_case(port, frame(OP_CLOSE, close_payload(code)), 1002))


def close_case(port, payload, code, chunk=None):
    c = Conn(port)
    try:
        c.send(frame(OP_CLOSE, payload), chunk)
        c.expect_close(code, answer=False)
    finally:
        c.close()


@case("7", "server-initiated close (idle timeout) answered: TCP closed at once", server="timers")
def _(port):
    c = Conn(port)
    try:
        f = c.read_frame()  # --ws-idle-timeout 200ms
        if f.op != OP_CLOSE or parse_close(f.payload) != 1000:
            raise failed(f"expected the idle close 1000, got {f!r}")
        c.send_frame(OP_CLOSE, f.payload[:2])
        c.expect_eof()
    finally:
        c.close()


@case("7", "data after the server's close is dropped, then the reply ends TCP", server="timers")
def _(port):
    c = Conn(port)
    try:
        f = c.read_frame()
        if f.op != OP_CLOSE or parse_close(f.payload) != 1000:
            raise failed(f"expected the idle close 1000, got {f!r}")
        c.send(frame(OP_TEXT, b"too late") + frame(OP_PING, b"too late") +
               frame(OP_CLOSE, f.payload[:2]))
        c.expect_eof()
    finally:
        c.close()


@case("7", "server-initiated close left unanswered: TCP closed after the close timeout",
      server="timers")
def _(port):
    c = Conn(port)
    try:
        f = c.read_frame()
        if f.op != OP_CLOSE or parse_close(f.payload) != 1000:
            raise failed(f"expected the idle close 1000, got {f!r}")
        t0 = time.monotonic()
        c.expect_eof()  # --ws-close-timeout 300ms
        if time.monotonic() - t0 < 0.25:
            raise failed("TCP closed before the close timeout without our close reply")
    finally:
        c.close()


@case("7", "peer drops TCP without a close frame: server stays up")
def _(port):
    c = Conn(port)
    c.send(frame(OP_TEXT, b"half", fin=False))
    c.close()
    c = Conn(port)
    try:
        c.send_frame(OP_TEXT, b"still serving")
        c.expect_echo(OP_TEXT, b"still serving")
        c.close_handshake()
    finally:
        c.close()


# ============================================================================
# 9 Large messages and the limit
# ============================================================================

for _op, _kind, _gen in ((OP_TEXT, "text", text_payload), (OP_BINARY, "binary", binary_payload)):
    for _size in (64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20):
        add("9", f"{_kind} {_size >> 10} KiB, one frame",
            lambda port, op=_op, n=_size, g=_gen: echo_case(port, op, g(n)))
    add("9", f"{_kind} 16 MiB (the limit exactly), one frame",
        lambda port, op=_op, g=_gen: echo_case(port, op, g(MAX_MESSAGE)))
    for _frag in (64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20):
        add("9", f"{_kind} 4 MiB in fragments of {_frag} bytes",
            lambda port, op=_op, f=_frag, g=_gen: echo_case(port, op, g(4 << 20), frag=f))
    for _chop in (64, 128, 256, 512, 1024, 2048, 65537):
        add("9", f"{_kind} 1 MiB in one frame, written in chops of {_chop} bytes",
            lambda port, op=_op, ch=_chop, g=_gen: echo_case(port, op, g(1 << 20), chunk=ch))
add("9", "text 16 MiB (the limit exactly) in 4 fragments",
    lambda port: echo_case(port, OP_TEXT, text_payload(MAX_MESSAGE), frag=4 << 20))
add("9", "text one byte over the limit, one frame: 1009 from the header alone",
    lambda port: fail_fast_case(port, frame(OP_TEXT, b"", length=MAX_MESSAGE + 1)[:14],
                                b"", 1009))
add("9", "binary 1 GiB announced: 1009 from the header alone",
    lambda port: fail_fast_case(port, frame(OP_BINARY, b"", length=1 << 30)[:14], b"", 1009))


@case("9", "binary one byte over the limit in 3 fragments -> 1009")
def _(port):
    half = binary_payload(MAX_MESSAGE // 2)
    fail_fast_case(port, frame(OP_BINARY, half, fin=False) + frame(OP_CONT, half, fin=False) +
                   frame(OP_CONT, b"", fin=False, length=1)[:6], b"x", 1009)


@case("9", "64 MiB of 1 MiB messages written while the echoes are read (backpressure)")
def _(port):
    # The server pauses reading while its output is queued; this checks that
    # it resumes every time, losing and reordering nothing.
    c = Conn(port)
    count = 64
    frames = [frame(OP_BINARY, binary_payload(1 << 20, seed=i)) for i in range(count)]
    errors = []

    def writer():
        try:
            for f in frames:
                c.sock.sendall(f)
        except OSError as e:
            errors.append(e)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        for i in range(count):
            c.expect_echo(OP_BINARY, binary_payload(1 << 20, seed=i))
        t.join(c.timeout)
        if errors:
            raise failed(f"writing failed: {errors[0]}")
        c.close_handshake()
    finally:
        t.join(c.timeout)
        c.close()


def many_messages(port, size, count, op=OP_TEXT):
    c = Conn(port)
    try:
        p = (text_payload if op == OP_TEXT else binary_payload)(size)
        for _ in range(count):
            c.send_frame(op, p)
            c.expect_echo(op, p)
        c.close_handshake()
    finally:
        c.close()


for _size in (0, 16, 64, 256, 1024, 4096):
    add("9", f"200 round trips of {_size}-byte text messages",
        lambda port, n=_size: many_messages(port, n, 200))
    add("9", f"200 round trips of {_size}-byte binary messages",
        lambda port, n=_size: many_messages(port, n, 200, OP_BINARY))

# ============================================================================
# 10 Odd TCP write boundaries
# ============================================================================

_mixed = [(OP_TEXT, text_payload(100)), (OP_BINARY, binary_payload(1000)),
          (OP_TEXT, text_payload(70000)), (OP_BINARY, b""), (OP_TEXT, HELLO_UTF8)]
for _chop in (1, 2, 3, 7, 13, 127, 1300, 4093, 65537):
    add("10", f"5 messages in one stream, written in chops of {_chop} bytes",
        lambda port, ch=_chop: pipeline_mixed(port, ch))


def pipeline_mixed(port, chunk):
    c = Conn(port)
    try:
        data = frame(OP_TEXT, HELLO_UTF8[:9], fin=False) + frame(OP_PING, b"x") + \
            frame(OP_CONT, HELLO_UTF8[9:])
        data += b"".join(frame(op, p) for op, p in _mixed)
        c.send(data, chunk)
        c.expect_pong(b"x")
        c.expect_echo(OP_TEXT, HELLO_UTF8)
        for op, p in _mixed:
            c.expect_echo(op, p)
        c.close_handshake()
    finally:
        c.close()


@case("10", "headers split at every byte (7-, 8- and 14-byte headers)")
def _(port):
    c = Conn(port)
    try:
        for size in (5, 300, 70000):
            p = binary_payload(size, size)
            f = frame(OP_BINARY, p)
            head = len(f) - size
            for cut in range(1, head + 1):
                c.send(f[:cut])
                c.send(f[cut:])
                c.expect_echo(OP_BINARY, p)
        c.close_handshake()
    finally:
        c.close()


add("10", "100 small messages in one write",
    lambda port: pipelined(port, OP_TEXT, [b"message %d" % i for i in range(100)]))
add("10", "1000 empty messages in one write",
    lambda port: pipelined(port, OP_BINARY, [b""] * 1000))

# ============================================================================
# 12 permessage-deflate: messages
# 13 permessage-deflate: negotiation, each parameter combination
# ============================================================================


def deflate_conn(port, offer, expect=None):
    """Connects offering `offer`; checks the response against `expect`
    (dict of params, or None for "declined"); returns (conn, ClientDeflate)."""
    c = Conn(port, extensions=offer)
    value = c.headers.get("sec-websocket-extensions")
    if expect is None:
        if value is not None:
            c.close()
            raise failed(f"offer {offer!r} should be declined, got {value!r}")
        return c, None
    if value is None:
        c.close()
        raise failed(f"offer {offer!r} declined, expected {expect}")
    params = parse_extension_response(value)
    if params != expect:
        c.close()
        raise failed(f"offer {offer!r}: response {value!r}, expected {expect}")
    c.deflate = True
    return c, ClientDeflate(params)


def deflate_exchange(c, z, payloads, compress=True, op=OP_TEXT, frag=None, expect_compressed=True):
    """Sends each payload (compressed unless told otherwise) and checks the
    echo inflates to it. With expect_compressed, an echo of 64 bytes or more
    must have come back compressed (the server's --ws-deflate-min-size)."""
    for p in payloads:
        body = z.compress(p) if compress else p
        rsv = 4 if compress else 0
        if frag is None:
            c.send_frame(op, body, rsv=rsv)
        else:
            pieces = [body[i:i + frag] for i in range(0, len(body), frag)] or [b""]
            c.send(b"".join(frame(op if i == 0 else OP_CONT, piece, fin=i == len(pieces) - 1,
                                  rsv=rsv if i == 0 else 0) for i, piece in enumerate(pieces)))
        got_op, data, compressed = c.read_message(z)
        if got_op != op or data != p:
            raise failed(f"compressed echo of {len(p)} bytes differs ({len(data)} bytes back)"
                         f"{first_difference(data, p)}")
        if expect_compressed and len(p) >= 64 and not compressed:
            raise failed(f"echo of {len(p)} bytes came back uncompressed")


DEFLATE_SIZES = [16, 64, 256, 1024, 4096, 16384, 65536, 131072]


def deflate_messages_case(port, offer, expect, sizes, count, op=OP_TEXT, frag=None,
                          mix_uncompressed=False):
    c, z = deflate_conn(port, offer, expect)
    try:
        payloads = []
        for n in sizes:
            for i in range(count):
                p = compressible(n, seed=n * 31 + i)
                payloads.append(p if op == OP_TEXT else p[::-1])
        if mix_uncompressed:
            for i, p in enumerate(payloads):
                deflate_exchange(c, z, [p], compress=i % 3 != 1, op=op)
        else:
            deflate_exchange(c, z, payloads, op=op, frag=frag)
        # The same message twice: with context takeover the second refers
        # back to the first (both directions).
        again = compressible(3000, seed=99)
        deflate_exchange(c, z, [again, again, again], op=op)
        c.close_handshake()
    finally:
        c.close()


PMD = "permessage-deflate"
for _offer, _expect in [
        (PMD, {}),
        (PMD + "; client_max_window_bits", {}),
        (PMD + "; server_no_context_takeover; client_no_context_takeover",
         {"server_no_context_takeover": True, "client_no_context_takeover": True}),
        (PMD + "; server_max_window_bits=9; client_max_window_bits=9",
         {"server_max_window_bits": 9, "client_max_window_bits": 9})]:
    for _op, _kind in ((OP_TEXT, "text"), (OP_BINARY, "binary")):
        add("12", f"{_kind}, sizes 16..128 KiB x 4, offer '{_offer}'",
            lambda port, o=_offer, e=_expect, op=_op: deflate_messages_case(
                port, o, e, DEFLATE_SIZES, 4, op=op))
    add("12", f"compressed and uncompressed messages mixed, offer '{_offer}'",
        lambda port, o=_offer, e=_expect: deflate_messages_case(
            port, o, e, [64, 1024, 65536], 6, mix_uncompressed=True))
    add("12", f"compressed messages in fragments of 7 bytes, offer '{_offer}'",
        lambda port, o=_offer, e=_expect: deflate_messages_case(
            port, o, e, [64, 1024, 20000], 2, frag=7))


def deflate_one(port, payload_fn, check, offer=PMD, expect=None):
    c, z = deflate_conn(port, offer, {} if expect is None else expect)
    try:
        check(c, z, payload_fn(z))
    finally:
        c.close()


def check_echo(text=True):
    def run(c, z, sent):
        body, original = sent
        c.send_frame(OP_TEXT if text else OP_BINARY, body, rsv=4)
        op, data, _ = c.read_message(z)
        if data != original:
            raise failed(f"echo of {len(original)} bytes differs ({len(data)} back)")
        c.close_handshake()
    return run


def check_close(code):
    def run(c, z, sent):
        c.send(sent)
        c.expect_close(code)
    return run


@case("12", "compressed fragments written in chops of 3 bytes, a ping between them")
def _(port):
    c, z = deflate_conn(port, PMD, {})
    try:
        for n in (100, 3000, 3000, 70000):
            p = compressible(n, seed=n)
            body = z.compress(p)
            half = len(body) // 2
            c.send(frame(OP_TEXT, body[:half], fin=False, rsv=4) + frame(OP_PING, b"mid") +
                   frame(OP_CONT, body[half:]), chunk=3)
            c.expect_pong(b"mid")
            c.expect_echo(OP_TEXT, p, z)
        c.close_handshake()
    finally:
        c.close()


@case("12", "1000 small compressed messages on one context, pipelined")
def _(port):
    c, z = deflate_conn(port, PMD + "; client_max_window_bits", {})
    try:
        payloads = [compressible(64 + i % 200, seed=i % 7) for i in range(1000)]
        c.send(b"".join(frame(OP_TEXT, z.compress(p), rsv=4) for p in payloads))
        for p in payloads:
            c.expect_echo(OP_TEXT, p, z)
        c.close_handshake()
    finally:
        c.close()


@case("12", "compressed message whose first fragment is empty")
def _(port):
    c, z = deflate_conn(port, PMD, {})
    try:
        for n in (10, 1000):
            p = compressible(n, seed=n)
            c.send(frame(OP_TEXT, b"", fin=False, rsv=4) + frame(OP_CONT, z.compress(p), fin=False) +
                   frame(OP_CONT, b""))
            c.expect_echo(OP_TEXT, p, z)
        c.close_handshake()
    finally:
        c.close()


add("12", "compressed empty message (payload 00)",
    lambda port: deflate_one(port, lambda z: (z.compress(b""), b""), check_echo()))
add("12", "compressed empty message (no payload at all)",
    lambda port: deflate_one(port, lambda z: (b"", b""), check_echo()))
add("12", "compressed message ending with a final block (BFINAL)",
    lambda port: deflate_one(port, lambda z: (final_block(b"final block " * 50), b"final block " * 50),
                             check_echo()))


@case("12", "a final block, then context-takeover messages start a fresh stream")
def _(port):
    c, z = deflate_conn(port, PMD, {})
    try:
        first = compressible(2000, 5)
        c.send_frame(OP_TEXT, final_block(first), rsv=4)
        c.expect_echo(OP_TEXT, first, z)
        deflate_exchange(c, z, [compressible(2000, 6), compressible(2000, 6)])
        c.close_handshake()
    finally:
        c.close()


def final_block(data):
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush(zlib.Z_FINISH)


add("12", "16 MiB of zeros compressed (the limit exactly) -> echo",
    lambda port: deflate_one(port, lambda z: (z.compress(bytes(MAX_MESSAGE)), bytes(MAX_MESSAGE)),
                             check_echo(text=False)))
add("12", "16 MiB + 1 of zeros compressed -> 1009",
    lambda port: deflate_one(port, lambda z: frame(OP_BINARY, z.compress(bytes(MAX_MESSAGE + 1)), rsv=4),
                             check_close(1009)))
add("12", "invalid deflate data -> 1007",
    lambda port: deflate_one(port, lambda z: frame(OP_BINARY, b"\xff\xff\xff\xff\xff", rsv=4),
                             check_close(1007)))
add("12", "compressed text that inflates to invalid UTF-8 -> 1007",
    lambda port: deflate_one(port, lambda z: frame(OP_TEXT, z.compress(_invalid), rsv=4),
                             check_close(1007)))
add("12", "compressed text ending inside a character -> 1007",
    lambda port: deflate_one(port, lambda z: frame(OP_TEXT, z.compress(KOSME + b"\xce"), rsv=4),
                             check_close(1007)))
add("12", "RSV1 on a continuation frame -> 1002",
    lambda port: deflate_one(port, lambda z: frame(OP_TEXT, z.compress(b"abc"), fin=False, rsv=4) +
                             frame(OP_CONT, b"", rsv=4), check_close(1002)))
add("12", "RSV1 on a ping -> 1002",
    lambda port: deflate_one(port, lambda z: frame(OP_PING, b"", rsv=4), check_close(1002)))
add("12", "RSV2 with deflate on -> 1002",
    lambda port: deflate_one(port, lambda z: frame(OP_TEXT, z.compress(b"abc"), rsv=6),
                             check_close(1002)))


# 13: negotiation, default server (window 15, context takeover).
def negotiation_case(port, offer, expect, status=101):
    if status != 101:
        c = Conn(port, extensions=offer, expect_status=status)
        c.close()
        return
    if expect is None:
        c, _ = deflate_conn(port, offer, None)
        try:
            # Declined: a compressed frame is now a protocol error.
            c.send_frame(OP_TEXT, b"plain")
            c.expect_echo(OP_TEXT, b"plain")
            c.send_frame(OP_TEXT, zlib.compress(b"x")[2:-4], rsv=4)
            c.expect_close(1002)
        finally:
            c.close()
        return
    deflate_messages_case(port, offer, expect, [100, 5000, 40000], 3)


def expected_params(offer_params, window=15, nct=False):
    """What ringshard answers (ws/deflate.h) to one offer's parameters."""
    e = {}
    if "server_no_context_takeover" in offer_params or nct:
        e["server_no_context_takeover"] = True
    if "client_no_context_takeover" in offer_params or nct:
        e["client_no_context_takeover"] = True
    if "server_max_window_bits" in offer_params:
        e["server_max_window_bits"] = min(offer_params["server_max_window_bits"], window)
    elif window < 15:
        e["server_max_window_bits"] = window
    if "client_max_window_bits" in offer_params:
        v = offer_params["client_max_window_bits"]
        n = min(15 if v is True else v, window)
        if n < 15:
            e["client_max_window_bits"] = n
    return e


def offer_text(params):
    parts = [PMD]
    for k, v in params.items():
        parts.append(k if v is True else f"{k}={v}")
    return "; ".join(parts)


NEGOTIATION_OFFERS = [{}, {"client_max_window_bits": True},
                      {"server_no_context_takeover": True}, {"client_no_context_takeover": True},
                      {"server_no_context_takeover": True, "client_no_context_takeover": True}]
NEGOTIATION_OFFERS += [{"server_max_window_bits": n} for n in range(9, 16)]
NEGOTIATION_OFFERS += [{"client_max_window_bits": n} for n in range(8, 16)]
NEGOTIATION_OFFERS += [{"server_max_window_bits": n, "client_max_window_bits": n,
                        "server_no_context_takeover": True} for n in (9, 12)]
NEGOTIATION_OFFERS += [{"client_max_window_bits": True, "client_no_context_takeover": True,
                        "server_max_window_bits": 10}]
NEGOTIATION_OFFERS += [{"server_no_context_takeover": True, "client_no_context_takeover": True,
                        "server_max_window_bits": 9, "client_max_window_bits": 9}]

for _params in NEGOTIATION_OFFERS:
    _o = offer_text(_params)
    add("13", f"offer '{_o}'",
        lambda port, o=_o, p=_params: negotiation_case(port, o, expected_params(p)))
for _o, _expect in [
        (PMD + '; server_max_window_bits="10"', {"server_max_window_bits": 10}),
        (PMD + " ;\tclient_max_window_bits = 11 ", {"client_max_window_bits": 11}),
        (PMD + "; server_max_window_bits=8, " + PMD + "; server_max_window_bits=10",
         {"server_max_window_bits": 10}),
        (PMD + "; unknown_param, " + PMD + "; client_no_context_takeover",
         {"client_no_context_takeover": True}),
        ("x-webkit-deflate-frame, " + PMD, {}),
        (PMD + ", , " + PMD + "; server_no_context_takeover", {})]:
    add("13", f"offer '{_o}' -> {_expect}",
        lambda port, o=_o, e=_expect: negotiation_case(port, o, e))
for _o in [PMD + "; server_max_window_bits=8", PMD + "; server_max_window_bits=16",
           PMD + "; server_max_window_bits=7", PMD + "; server_max_window_bits",
           PMD + "; server_max_window_bits=09", PMD + "; client_max_window_bits=16",
           PMD + "; client_no_context_takeover=1", PMD + "; unknown_param",
           PMD + "; server_no_context_takeover; server_no_context_takeover",
           PMD + "; Server_No_Context_Takeover", "x-webkit-deflate-frame"]:
    add("13", f"offer '{_o}' is declined",
        lambda port, o=_o: negotiation_case(port, o, None))
for _o in [PMD + '; server_max_window_bits="1 0"', PMD + "; @", PMD + ", @@"]:
    add("13", f"malformed offer '{_o}' -> 400",
        lambda port, o=_o: negotiation_case(port, o, None, status=400))

# The same against a server configured with window 9 and no context
# takeover: it imposes both, and answers client_max_window_bits only when
# offered (RFC 7692 7.1.2.2).
for _params in [{}, {"client_max_window_bits": True}, {"server_max_window_bits": 12},
                {"server_max_window_bits": 12, "client_max_window_bits": 12},
                {"client_max_window_bits": 8}]:
    _o = offer_text(_params)
    add("13", f"server window 9, no context takeover: offer '{_o}'",
        lambda port, o=_o, p=_params: negotiation_case(
            port, o, expected_params(p, window=9, nct=True)), server="deflate9")
add("13", "server with --ws-deflate=false: offer declined",
    lambda port: negotiation_case(port, PMD + "; client_max_window_bits", None),
    server="nodeflate")
add("13", "server with --ws-deflate=false: malformed offer ignored",
    lambda port: negotiation_case(port, PMD + "; @", None), server="nodeflate")

SERVERS = {
    "default": [],
    "deflate9": ["--ws-deflate-window-bits", "9", "--ws-deflate-no-context-takeover"],
    "nodeflate": ["--ws-deflate=false"],
    "timers": ["--ws-idle-timeout", "200ms", "--ws-close-timeout", "300ms"],
}


# --- runner --------------------------------------------------------------------

def run_case(c, port):
    try:
        c.fn(port)
        return OK, ""
    except CaseError as e:
        return e.status, e.detail
    except (socket.timeout, TimeoutError):
        return FAILED, "timed out"
    except (ConnectionResetError, BrokenPipeError) as e:
        return UNCLEAN, str(e)
    except OSError as e:
        return FAILED, f"{type(e).__name__}: {e}"


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    pattern = None
    if "-k" in args:
        pattern = args[args.index("-k") + 1]
    positional = [a for i, a in enumerate(args)
                  if not a.startswith("-") and (i == 0 or args[i - 1] != "-k")]
    if not positional or not os.access(positional[0], os.X_OK):
        sys.stderr.write(f"usage: {sys.argv[0]} PATH/TO/ringshard [-k SUBSTRING] [-v]\n")
        return 2
    binary = positional[0]
    slow = sanitized(binary)
    if slow:
        Conn.default_timeout *= 2
    # The whole run is bounded: a hang anywhere ends it with a clear message.
    budget = 240 if slow else 120

    def on_alarm(*_):
        sys.stderr.write(f"ws_conformance: whole run over {budget} s, giving up\n")
        os._exit(1)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(budget)

    cases = [c for c in CASES if pattern is None or pattern in f"{c.id} {c.name}"]
    results = []
    started = time.monotonic()
    servers = {}
    try:
        for name in SERVERS:
            if any(c.server == name for c in cases):
                servers[name] = RingshardProcess(binary, SERVERS[name])
                servers[name].start()
        for c in cases:
            t0 = time.monotonic()
            status, detail = run_case(c, servers[c.server].port)
            took = time.monotonic() - t0
            if status != OK and c.id in KNOWN_FAILURES:
                detail = f"known failure ({KNOWN_FAILURES[c.id]}): {detail}"
                status = OK
            results.append((c, status, detail, took))
            if verbose or status != OK:
                print(f"{c.id:>7} {status:<10} {took * 1000:7.1f} ms  {c.name}"
                      + (f"\n{'':>19}{detail}" if detail else ""), flush=True)
            if not servers[c.server].alive():
                print(f"ringshard ({c.server}) exited during case {c.id}:\n"
                      f"{servers[c.server].output()}")
                return 1
    finally:
        exit_codes = {name: s.stop() for name, s in servers.items()}
    elapsed = time.monotonic() - started

    sections = []
    for c, *_ in results:
        if c.section not in sections:
            sections.append(c.section)
    print(f"\n{'section':<8}{'cases':>6}" + "".join(f"{s:>12}" for s in STATUSES))
    totals = {s: 0 for s in STATUSES}
    for sec in sections:
        counts = {s: 0 for s in STATUSES}
        for c, st, _, _ in results:
            if c.section == sec:
                counts[st] += 1
                totals[st] += 1
        print(f"{sec:<8}{sum(counts.values()):>6}" + "".join(f"{counts[s]:>12}" for s in STATUSES))
    print(f"{'all':<8}{len(results):>6}" + "".join(f"{totals[s]:>12}" for s in STATUSES))
    slowest = sorted(results, key=lambda r: -r[3])[:3]
    print(f"\n{len(results)} cases in {elapsed:.1f} s; slowest: " +
          ", ".join(f"{c.id} {t:.2f} s" for c, _, _, t in slowest))
    bad_exit = {n: code for n, code in exit_codes.items() if code != 0}
    if bad_exit:
        print(f"ringshard did not exit cleanly after SIGTERM: {bad_exit}")
        for n in bad_exit:
            print(servers[n].output())
    return 0 if totals[OK] == len(results) and not bad_exit else 1


if __name__ == "__main__":
    sys.exit(main())
