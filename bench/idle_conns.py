#!/usr/bin/env python3
"""Memory per idle keep-alive connection, as the server's RSS sees it.

Opens N connections to a server; each sends one GET, reads the whole
response and then stays open and idle. The server's resident memory (VmRSS
of the given process and all its descendants, from /proc/PID/status) is read
before and after; the growth divided by N is the user-space memory one idle
connection costs. Kernel socket memory is not in RSS and not counted.

Usage: idle_conns.py --port PORT --pid PID [--host 127.0.0.1] [--path /]
                     [--connections 10000] [--settle 0.5] [--json]
Python 3 standard library only. Raises its own RLIMIT_NOFILE to the hard
limit; closes every connection before it exits.
"""
import argparse
import json
import os
import resource
import socket
import sys
import time


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
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.connections + 64 > hard:
        sys.exit(f"idle_conns: {args.connections} connections need a higher RLIMIT_NOFILE (hard limit {hard})")

    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n").encode()
    time.sleep(args.settle)
    before = rss_kib(args.pid)
    socks, failures, statuses = [], 0, {}
    started = time.monotonic()
    try:
        for _ in range(args.connections):
            try:
                s = socket.create_connection((args.host, args.port), timeout=5)
                socks.append(s)
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
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{alive}/{args.connections} idle connections open ({failures} failed); "
              f"RSS {before} KiB -> {after} KiB: {result['bytes_per_conn']:.0f} bytes per connection")
    return 0 if failures == 0 and alive == args.connections else 1


if __name__ == "__main__":
    sys.exit(main())
