"""The raw WebSocket client of ws_conformance.py: frames built byte by byte
(any bit, opcode or length, masked or not), a connection that checks every
frame the server sends against RFC 6455, and the client's half of
permessage-deflate (RFC 7692) with zlib. Standard library only.

    c = Conn(port, "/ws/echo", extensions="permessage-deflate")
    c.send(frame(OP_TEXT, b"Hi", fin=False) + frame(OP_CONT, b"!"), chunk=1)
    c.expect_echo(OP_TEXT, b"Hi!")
    c.close_handshake(1000)

Every read waits at most Conn.default_timeout seconds. A check that does
not hold raises CaseError with the Autobahn-style status (FAILED, WRONG
CODE, UNCLEAN) and what happened.
"""

import base64
import hashlib
import os
import random
import socket
import struct
import zlib

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OK, FAILED, WRONG_CODE, UNCLEAN = "OK", "FAILED", "WRONG CODE", "UNCLEAN"
STATUSES = (OK, FAILED, WRONG_CODE, UNCLEAN)



class CaseError(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def failed(detail):
    return CaseError(FAILED, detail)


class Frame:
    __slots__ = ("fin", "rsv", "op", "payload")

    def __init__(self, fin, rsv, op, payload):
        self.fin, self.rsv, self.op, self.payload = fin, rsv, op, payload

    def __repr__(self):
        p = self.payload[:40]
        return (f"Frame(op={self.op:#x}, fin={int(self.fin)}, rsv={self.rsv}, "
                f"{len(self.payload)} bytes {p!r}{'...' if len(self.payload) > 40 else ''})")


# --- frames ----------------------------------------------------------------

def mask_bytes(key, data):
    n = len(data)
    if n == 0:
        return b""
    k = (key * ((n + 3) // 4))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One client frame. `length` overrides the length field (lies)."""
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | op])
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + mask_bytes(key, payload)


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    return struct.pack("!H", code) + reason


def sendable_close_code(code):
    # RFC 6455 7.4 and the IANA registry: codes an endpoint may send.
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


# --- connection --------------------------------------------------------------

class Conn:
    """A client connection after a successful opening handshake."""

    default_timeout = 5.0  # seconds per read

    def __init__(self, port, path="/ws/echo", extensions=None, timeout=None,
                 expect_status=101, early=b"", headers=()):
        """`early`: bytes written together with the upgrade request, before
        the 101 has been seen. `headers`: (name, value) pairs that replace
        the request's header of that name (value None drops it) or are
        added ("+Name": always added, even if one is there)."""
        self.timeout = timeout or Conn.default_timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.deflate = False  # RSV1 allowed on the server's data frames
        self.in_message = False
        key = base64.b64encode(os.urandom(16))
        fields = [["Host", "127.0.0.1"], ["Upgrade", "websocket"], ["Connection", "Upgrade"],
                  ["Sec-WebSocket-Key", key.decode()], ["Sec-WebSocket-Version", "13"]]
        if extensions is not None:
            fields.append(["Sec-WebSocket-Extensions", extensions])
        for name, value in headers:
            same = [f for f in fields if f[0].lower() == name.lower()]
            if name.startswith("+"):
                fields.append([name[1:], value])
            elif same:
                same[0][:] = [name, value]
            else:
                fields.append([name, value])
        req = f"GET {path} HTTP/1.1\r\n".encode()
        req += b"".join(f"{n}: {v}\r\n".encode() for n, v in fields if v is not None)
        self.sock.sendall(req + b"\r\n" + early)
        head = self._read_until(b"\r\n\r\n", 16384)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                k = k.strip().lower()
                v = v.strip()
                self.headers[k] = self.headers[k] + ", " + v if k in self.headers else v
        if self.status != expect_status:
            self.sock.close()
            raise failed(f"handshake: status {self.status}, expected {expect_status}: {lines[0]}")
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
            if self.headers.get("sec-websocket-accept") != want:
                raise failed("handshake: wrong Sec-WebSocket-Accept "
                             f"{self.headers.get('sec-websocket-accept')!r}")

    def _read_until(self, marker, limit):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise failed("handshake response too long")
            chunk = self._recv()
            if not chunk:
                raise CaseError(UNCLEAN, "connection closed during the handshake")
        i = self.buf.index(marker) + len(marker)
        head = bytes(self.buf[:i])
        del self.buf[:i]
        return head

    def _recv(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            raise failed(f"nothing from the server within {self.timeout:.0f} s")
        except ConnectionResetError:
            raise CaseError(UNCLEAN, "connection reset by the server")
        self.buf += chunk
        return chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # Writing.
    def send(self, data, chunk=None):
        try:
            if chunk is None:
                self.sock.sendall(data)
            else:
                mv = memoryview(data)
                for i in range(0, len(data), chunk):
                    self.sock.sendall(mv[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError) as e:
            raise CaseError(UNCLEAN, f"write failed: {e}")

    def send_frame(self, op, payload=b"", chunk=None, **kw):
        self.send(frame(op, payload, **kw), chunk)

    # Reading.
    def _need(self, n):
        while len(self.buf) < n:
            if not self._recv():
                raise CaseError(UNCLEAN, "TCP connection closed without a close frame")

    def read_frame(self):
        """The next frame; checks what RFC 6455 asks of a server's frame."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        fin, rsv, op = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F
        if b1 & 0x80:
            raise failed("server frame is masked")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4)
            n = struct.unpack_from("!H", self.buf, 2)[0]
            pos = 4
            if n < 126:
                raise failed(f"length {n} not in its minimal encoding (16-bit)")
        elif n == 127:
            self._need(10)
            n = struct.unpack_from("!Q", self.buf, 2)[0]
            pos = 10
            if n < 65536:
                raise failed(f"length {n} not in its minimal encoding (64-bit)")
        if op not in (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise failed(f"server frame with reserved opcode {op}")
        if rsv & 3:
            raise failed(f"server frame with RSV2/RSV3 set ({rsv})")
        if rsv & 4 and not (self.deflate and op in (OP_TEXT, OP_BINARY)):
            raise failed(f"server frame with RSV1 set on opcode {op}")
        if op >= 8 and (n > 125 or not fin):
            raise failed(f"server control frame {op:#x} of {n} bytes, fin={fin}")
        if op == OP_CONT and not self.in_message:
            raise failed("server continuation frame with no message in progress")
        if op in (OP_TEXT, OP_BINARY) and self.in_message:
            raise failed("server started a message inside another")
        if op < 8:
            self.in_message = not fin
        self._need(pos + n)
        payload = bytes(self.buf[pos:pos + n])
        del self.buf[:pos + n]
        return Frame(fin, rsv, op, payload)

    def read_message(self, inflate=None):
        """The next data message: (opcode, payload bytes, compressed).
        Control frames in between are an error (none are expected)."""
        f = self.read_frame()
        if f.op == OP_CLOSE:
            raise failed(f"expected a message, got close {describe_close(f.payload)}")
        if f.op not in (OP_TEXT, OP_BINARY):
            raise failed(f"expected a message, got {f!r}")
        op, compressed, parts = f.op, bool(f.rsv & 4), [f.payload]
        while not f.fin:
            f = self.read_frame()
            if f.op != OP_CONT:
                raise failed(f"expected a continuation, got {f!r}")
            parts.append(f.payload)
        data = b"".join(parts)
        if compressed:
            if inflate is None:
                raise failed("compressed message without permessage-deflate")
            data = inflate.decompress(data)
        if op == OP_TEXT:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise failed("server sent a text message that is not UTF-8")
        return op, data, compressed

    def expect_echo(self, op, payload, inflate=None):
        got_op, data, _ = self.read_message(inflate)
        if got_op != op:
            raise failed(f"echo has opcode {got_op}, sent {op}")
        if data != payload:
            raise failed(f"echo differs: {len(data)} bytes, sent {len(payload)}"
                         f"{first_difference(data, payload)}")

    def expect_pong(self, payload):
        f = self.read_frame()
        if f.op != OP_PONG:
            raise failed(f"expected a pong, got {f!r}"
                         + (f" ({describe_close(f.payload)})" if f.op == OP_CLOSE else ""))
        if f.payload != payload:
            raise failed(f"pong payload {f.payload[:20]!r}... differs from the ping's")

    def expect_close(self, code, answer=True):
        """Reads the server's close frame (code None: an empty one), answers
        it, and waits for the server to close the TCP connection."""
        f = self.read_frame()
        if f.op != OP_CLOSE:
            raise failed(f"expected close {code}, got {f!r}")
        got = parse_close(f.payload)
        if answer:
            try:
                self.sock.sendall(frame(OP_CLOSE, f.payload[:2]))
            except OSError:
                pass
        if got != code:
            self.expect_eof()
            raise CaseError(WRONG_CODE, f"close {got}, expected {code}")
        self.expect_eof()

    def expect_eof(self, reset_ok=False):
        """The server must close the TCP connection, and send nothing more."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                self.buf += chunk
                raise failed(f"bytes after the close frame: {bytes(self.buf[:20])!r}")
        except socket.timeout:
            raise CaseError(UNCLEAN, "TCP connection left open after the closing handshake")
        except ConnectionResetError:
            if not reset_ok:
                raise CaseError(UNCLEAN, "TCP connection reset after the closing handshake")

    def close_handshake(self, code=1000, reason=b""):
        """Client-initiated close: the server must echo the code."""
        self.send_frame(OP_CLOSE, close_payload(code, reason))
        self.expect_close(code, answer=False)


def parse_close(p):
    if len(p) == 0:
        return None
    if len(p) == 1:
        raise failed("server close frame with a 1-byte payload")
    code = struct.unpack("!H", p[:2])[0]
    if not sendable_close_code(code):
        raise failed(f"server sent close code {code}, which an endpoint may not send")
    try:
        p[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise failed("server close reason is not UTF-8")
    return code


def describe_close(p):
    if len(p) < 2:
        return f"(payload {p!r})"
    return f"{struct.unpack('!H', p[:2])[0]} {p[2:]!r}"


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return f"; first difference at byte {i}"
    return ""


# --- permessage-deflate (the client's side) ----------------------------------

def parse_extension_response(value):
    """{param: value or True} of a single permessage-deflate response, or
    raises CaseError."""
    elements = [e.strip() for e in value.split(",") if e.strip()]
    if len(elements) != 1:
        raise failed(f"Sec-WebSocket-Extensions {value!r}: want exactly one element")
    parts = [p.strip() for p in elements[0].split(";")]
    if parts[0] != "permessage-deflate":
        raise failed(f"Sec-WebSocket-Extensions {value!r}: not permessage-deflate")
    params = {}
    for p in parts[1:]:
        name, _, val = p.partition("=")
        name, val = name.strip(), val.strip().strip('"')
        if name in params:
            raise failed(f"repeated parameter {name} in {value!r}")
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if val:
                raise failed(f"{name} with a value in {value!r}")
            params[name] = True
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            if not val.isdigit() or not 8 <= int(val) <= 15:
                raise failed(f"{name}={val!r} in {value!r}")
            params[name] = int(val)
        else:
            raise failed(f"unknown parameter {name!r} in {value!r}")
    return params


class ClientDeflate:
    """The client's compressor and the strict decompressor of what the
    server sends: a server that used a larger window than agreed, or
    referred to an earlier message under server_no_context_takeover, makes
    zlib fail ("invalid distance too far back")."""

    def __init__(self, params, level=6):
        self.client_bits = max(9, params.get("client_max_window_bits", 15))
        self.server_bits = params.get("server_max_window_bits", 15)
        self.client_nct = params.get("client_no_context_takeover", False)
        self.server_nct = params.get("server_no_context_takeover", False)
        self.level = level
        self.comp = None
        self.decomp = None

    def compress(self, data):
        if self.comp is None or self.client_nct:
            self.comp = zlib.compressobj(self.level, zlib.DEFLATED, -self.client_bits)
        out = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    def decompress(self, payload):
        if self.decomp is None or self.server_nct:
            self.decomp = zlib.decompressobj(-self.server_bits)
        try:
            out = self.decomp.decompress(payload + b"\x00\x00\xff\xff")
        except zlib.error as e:
            raise failed(f"server's compressed message does not inflate with window "
                         f"{self.server_bits}"
                         f"{' and no context takeover' if self.server_nct else ''}: {e}")
        if self.decomp.eof:
            self.decomp = None  # a final block: the next message starts afresh
        return out


# --- payloads -------------------------------------------------------------

def text_payload(n, seed=1):
    rnd = random.Random(seed)
    letters = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*"
    block = bytes(rnd.choice(letters) for _ in range(min(n, 4093)))
    return (block * (n // max(1, len(block)) + 1))[:n]


def binary_payload(n, seed=2):
    block = random.Random(seed).randbytes(min(n, 65521))
    return (block * (n // max(1, len(block)) + 1))[:n]


def compressible(n, seed=3):
    """UTF-8 text of n bytes that compresses, with repeats at distances
    from 300 bytes to 40 KB, so a wrong window size shows."""
    rnd = random.Random(seed)
    words = ["ring", "shard", "socket", "frame", "deflate", "window", "echo", "κόσμε"]
    chunk = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(300))
    out, size = [], 0
    while size < n:
        r = rnd.random()
        if r < 0.1:
            piece = chunk
        elif r < 0.15 and len(out) > 100:
            start = rnd.randrange(0, len(out) - 50)
            piece = "".join(out[start:start + rnd.randrange(5, 50)])
        else:
            piece = rnd.choice(words) + " "
        out.append(piece)
        size += len(piece.encode())
    data = "".join(out).encode()[:n]
    return data.decode("utf-8", "ignore").encode().ljust(n, b".")
