#!/usr/bin/env python3
"""Memory per idle keep-alive connection, as the server's RSS sees it.

Opens N connections to a server; each sends one GET, reads the whole
response and then stays open and idle. The server's resident memory (VmRSS
of the given process and all its descendants, from /proc/PID/status) is read
before and after; the growth divided by N is the user-space memory one idle
connection costs. Kernel socket memory is not in RSS and not counted.

With --websocket each connection instead upgrades to a WebSocket at --path
(e.g. /ws/echo; the 101 and its Sec-WebSocket-Accept are checked) and stays
open and idle. --deflate offers permessage-deflate as browsers do
("permessage-deflate; client_max_window_bits"); --message N then sends one
message of N compressible bytes per connection (compressed when the
extension was agreed) and reads its echo, so the server has allocated
whatever compression state it keeps for a connection that has talked once.

Usage: idle_conns.py --port PORT --pid PID [--host 127.0.0.1] [--path /]
                     [--connections 10000] [--settle 0.5] [--json]
                     [--websocket [--deflate] [--message BYTES]]
Python 3 standard library only. Raises its own RLIMIT_NOFILE to the hard
limit; closes every connection before it exits.
"""
import argparse
import base64
import hashlib
import json
import os
import resource
import socket
import struct
import sys
import time
import zlib

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def descendants(root):
    """root and every process below it, from the parent links in /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(root):
    total = 0
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def read_response(sock):
    """Reads one response with a Content-Length body; returns its status."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        body += chunk
    return int(head.split(b" ", 2)[1])


def read_head(sock):
    """Reads a response head (to the blank line); returns (status, headers, rest)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    return int(lines[0].split(b" ", 2)[1]), headers, rest


def ws_upgrade(sock, host, port, path, deflate):
    """Upgrades; returns (status, zlib window bits for what we send or None, rest)."""
    key = base64.b64encode(os.urandom(16))
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key.decode()}\r\n")
    if deflate:
        req += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    sock.sendall((req + "\r\n").encode())
    status, headers, rest = read_head(sock)
    if status != 101:
        return status, None, rest
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()
    if headers.get("sec-websocket-accept") != accept:
        raise ConnectionError("wrong Sec-WebSocket-Accept")
    bits = None
    ext = headers.get("sec-websocket-extensions", "")
    if ext.startswith("permessage-deflate"):
        bits = 15
        for param in ext.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name == "client_max_window_bits" and value:
                bits = max(int(value.strip('"')), 9)  # zlib makes no 8-bit raw window
    return status, bits, rest


def ws_frame(opcode, payload, rsv1=False):
    """One masked client frame."""
    head = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    mask = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big") if n else b""
    return head + key + masked


def ws_read_frame(sock, buf):
    """Reads one whole server frame; returns (opcode, payload length, rest)."""
    def need(k):
        nonlocal buf
        while len(buf) < k:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a frame")
            buf += chunk
    need(2)
    n, off = buf[1] & 0x7F, 2
    if n == 126:
        need(4)
        n, off = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        need(10)
        n, off = struct.unpack("!Q", buf[2:10])[0], 10
    need(off + n)
    return buf[0] & 0x0F, n, buf[off + n:]


def ws_echo_once(sock, size, bits, rest):
    """Sends one text message of `size` compressible bytes (compressed with
    window `bits` when deflate was agreed) and reads its echo."""
    text = (b"ringshard idle connection memory, one message per connection. " * (size // 63 + 1))[:size]
    if bits:
        c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
        data = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
        sock.sendall(ws_frame(0x1, data[:-4], rsv1=True))  # minus the 00 00 ff ff tail
    else:
        sock.sendall(ws_frame(0x1, text))
    opcode, _, _ = ws_read_frame(sock, rest)
    if opcode != 0x1:
        raise ConnectionError(f"echo came back with opcode {opcode}")


def still_open(socks):
    """How many connections the server has not closed (no EOF pending)."""
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += 1 if s.recv(1, socket.MSG_PEEK) else 0
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/")
    ap.add_argument("--pid", type=int, required=True, help="server process (descendants included)")
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--settle", type=float, default=0.5, help="seconds to wait before measuring")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--websocket", action="store_true", help="upgrade each connection at --path")
    ap.add_argument("--deflate", action="store_true", help="offer permessage-deflate (with --websocket)")
    ap.add_argument("--message", type=int, default=0, metavar="BYTES",
                    help="send one message of this size per connection and read its echo")
    args = ap.parse_args()
    if (args.deflate or args.message) and not args.websocket:
        ap.error("--deflate and --message need --websocket")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.connections + 64 > hard:
        sys.exit(f"idle_conns: {args.connections} connections need a higher RLIMIT_NOFILE (hard limit {hard})")

    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n").encode()
    time.sleep(args.settle)
    before = rss_kib(args.pid)
    socks, failures, statuses, deflated = [], 0, {}, 0
    started = time.monotonic()
    try:
        for _ in range(args.connections):
            try:
                s = socket.create_connection((args.host, args.port), timeout=5)
                socks.append(s)
                if args.websocket:
                    status, bits, rest = ws_upgrade(s, args.host, args.port, args.path, args.deflate)
                    deflated += 1 if bits else 0
                    if status == 101 and args.message:
                        ws_echo_once(s, args.message, bits, rest)
                else:
                    s.sendall(request)
                    status = read_response(s)
                statuses[status] = statuses.get(status, 0) + 1
            except OSError:
                failures += 1
        opened_s = time.monotonic() - started
        time.sleep(args.settle)
        after = rss_kib(args.pid)
        alive = still_open(socks)
    finally:
        for s in socks:
            s.close()

    result = {
        "connections": args.connections,
        "alive": alive,
        "failures": failures,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rss_before_kib": before,
        "rss_after_kib": after,
        "bytes_per_conn": round((after - before) * 1024 / max(alive, 1), 1),
        "open_s": round(opened_s, 2),
    }
    if args.websocket:
        result.update({"websocket": True, "path": args.path, "deflate_offered": args.deflate,
                       "deflate_accepted": deflated, "message_bytes": args.message})
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{alive}/{args.connections} idle connections open ({failures} failed); "
              f"RSS {before} KiB -> {after} KiB: {result['bytes_per_conn']:.0f} bytes per connection")
    expected = 101 if args.websocket else None
    bad_status = expected is not None and statuses.get(expected, 0) != args.connections
    return 0 if failures == 0 and alive == args.connections and not bad_status else 1


if __name__ == "__main__":
    sys.exit(main())
