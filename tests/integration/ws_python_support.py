"""Runs the ringshard binary for the Python WebSocket tests.

    with RingshardProcess(binary, ["--ws-ping-interval", "200ms"]) as srv:
        url = f"ws://127.0.0.1:{srv.port}/ws/echo"

The server listens on 127.0.0.1:0 (plain HTTP only, 2 shards unless the
extra flags say otherwise); the port is read from its "listening on
HOST:PORT" line on stderr. A thread keeps reading stderr afterwards, so a
chatty server (sanitizer reports) never blocks on a full pipe, and the text
is at hand for a failure message. Leaving the block sends SIGTERM and waits
for a clean exit; stop() returns the exit code (0 after a clean drain), and
a server still running after the timeout is killed (SIGKILL), by its own
pid only. The server also gets SIGKILL if this process dies first (Linux
PR_SET_PDEATHSIG), so a test killed by a timeout leaves no server behind.
Call start() from the main thread: the signal follows the thread that
started the child. Standard library only: the conformance script uses it
too.
"""

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time

_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
_PR_SET_PDEATHSIG = 1
# Resolved before any fork: the child only calls it.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent():
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def terminate(proc, reader, timeout):
    """SIGTERM, then wait for the drain (SIGKILL after `timeout`); joins the
    stderr reader thread; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if reader is not None:
        reader.join(5.0)
    return proc.returncode


class ServerError(Exception):
    pass


class RingshardProcess:
    def __init__(self, binary, extra_args=(), shards=2, start_timeout=20.0):
        self.binary = binary
        self.args = [binary, "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "off",
                     "--no-plugins", "--shards", str(shards), *extra_args]
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self._lines = []
        self._lock = threading.Lock()
        self._port_seen = threading.Event()
        self._reader = None
        self.exit_code = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._port_seen.wait(self.start_timeout) or self.port is None:
            self.stop(timeout=2.0)
            raise ServerError("ringshard did not report its port within "
                              f"{self.start_timeout:.0f} s; stderr:\n{self.output()}")

    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            with self._lock:
                self._lines.append(line.decode("utf-8", "replace"))
            if self.port is None:
                m = _LISTENING.search(line)
                if m:
                    self.port = int(m.group(1))
                    self._port_seen.set()
        self._port_seen.set()  # exited before listening: start() reports it

    def output(self):
        with self._lock:
            return "".join(self._lines)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20.0):
        """SIGTERM, then wait for the drain; returns the exit code."""
        if self.proc is None:
            return None
        self.exit_code = terminate(self.proc, self._reader, timeout)
        return self.exit_code


def binary_from_argv():
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.stderr.write(f"usage: {sys.argv[0]} PATH/TO/ringshard\n")
        sys.exit(2)
    return sys.argv[1]


def sanitized(binary):
    """True for a sanitizer build (slower: tests scale their deadlines)."""
    try:
        with open(binary, "rb") as f:
            return b"AddressSanitizer" in f.read()
    except OSError:
        return False


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())
