"""The HTTP server: werkzeug's threaded WSGI server with HTTP/1.1 keep-alive.

werkzeug 3 closes every connection after one response and then lingers 10 ms draining the
socket, which caps a Python client at a few hundred requests/s. This handler keeps connections
open (the SDKs pool them), answers headers and body in one write, and never logs a request line
(Pinpoint paths carry user IDs).
"""

from __future__ import annotations

import logging
import socket

from moto.moto_server.werkzeug_app import MotoRequestHandler

from .logs import where

LOG = logging.getLogger("emulator.http")

DRAIN_LIMIT = 10 * 1024 * 1024


class _BodyInput:
    """wsgi.input limited to Content-Length, remembering how much is left unread."""

    def __init__(self, stream, length: int):
        self.stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self.stream.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = self.stream.readline(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = []
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class _Headers:
    """The part of email.message.Message that http.server, werkzeug and moto use, without the
    cost of the email parser (the largest single cost of a small request)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self._pairs = pairs
        self._map: dict[str, str] = {}
        for k, v in pairs:
            lk = k.lower()
            if lk not in self._map:
                self._map[lk] = v

    def get(self, name: str, default=None):
        return self._map.get(name.lower(), default)

    def __getitem__(self, name: str):
        return self._map.get(name.lower())

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._map

    def get_all(self, name: str, failobj=None):
        lk = name.lower()
        found = [v for k, v in self._pairs if k.lower() == lk]
        return found or failobj

    def items(self):
        return list(self._pairs)

    def keys(self):
        return [k for k, _ in self._pairs]

    def values(self):
        return [v for _, v in self._pairs]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._pairs)


class KeepAliveHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300  # idle keep-alive connections: longer than hyper's 90 s pool idle timeout

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def handle_expect_100(self):
        return True  # run_wsgi answers "100 Continue" (once)

    def parse_request(self):
        """http.server's parse_request for the usual `METHOD PATH HTTP/1.x` request, with a
        light header parser; anything unusual goes to http.server's own."""
        words = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n").split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return super().parse_request()
        command, path, version = words
        self.requestline = " ".join(words)
        self.command, self.request_version = command, version
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        pairs: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(65537)
            if len(line) > 65536:
                self.send_error(431, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and pairs:  # obsolete line folding
                k, v = pairs[-1]
                pairs[-1] = (k, v + " " + text.strip())
                continue
            name, sep, value = text.partition(":")
            if not sep:
                continue
            pairs.append((name.strip(), value.strip()))
            if len(pairs) > 100:
                self.send_error(431, "Too many headers")
                return False
        self.headers = _Headers(pairs)
        self.close_connection = version != "HTTP/1.1"
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        return True

    def log_request(self, code="-", size="-"):
        pass

    def log_error(self, format, *args):  # noqa: A002 - the arguments may quote a request line
        LOG.debug("HTTP-level error on a request")

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body_input = None
        if not environ.get("wsgi.input_terminated"):  # not chunked: bounded by Content-Length
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
                self.close_connection = True
            body_input = _BodyInput(self.rfile, max(0, length))
            environ["wsgi.input"] = body_input
        head = environ["REQUEST_METHOD"] == "HEAD"

        status_set = headers_set = None
        sent = False
        chunked = False

        def write(data: bytes) -> None:
            nonlocal sent, chunked
            if not sent:
                sent = True
                code_str, _, msg = status_set.partition(" ")
                code = int(code_str)
                self.send_response(code, msg)
                keys = set()
                for key, value in headers_set:
                    self.send_header(key, value)
                    keys.add(key.lower())
                if not ("content-length" in keys or head or 100 <= code < 200 or code in (204, 304)):
                    if self.request_version >= "HTTP/1.1":
                        chunked = True
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.close_connection = True
                self._headers_buffer.append(b"\r\n")
                if data:
                    self._headers_buffer.append(_frame(data) if chunked else data)
                self.flush_headers()  # headers and first body part in one write
                return
            if data:
                self.wfile.write(_frame(data) if chunked else data)

        def start_response(status, headers, exc_info=None):
            nonlocal status_set, headers_set
            if exc_info:
                try:
                    if sent:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif headers_set is not None:
                raise AssertionError("Headers already set")
            status_set, headers_set = status, headers
            return write

        try:
            result = self.server.app(environ, start_response)
            try:
                for data in result:
                    write(data)
                if not sent:
                    write(b"")
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                if hasattr(result, "close"):
                    result.close()
        except (ConnectionError, socket.timeout):
            self.close_connection = True
            return
        except Exception as e:  # noqa: BLE001
            LOG.error("unhandled error while serving a request: %s", where(e))
            self.close_connection = True
            if not sent:
                body = b'{"message": "emulator internal error"}'
                try:
                    self.send_response(500, "Internal Server Error")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self._headers_buffer.append(b"\r\n")
                    self._headers_buffer.append(body)
                    self.flush_headers()
                except OSError:
                    pass
            return
        # Leave the stream at the next request: drain what the application did not read.
        if body_input is None:
            self.close_connection = True
        elif body_input.remaining:
            if body_input.remaining > DRAIN_LIMIT:
                self.close_connection = True
            else:
                while body_input.read(65536):
                    pass


def _frame(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def make_server(host: str, port: int, app):
    from werkzeug.serving import make_server as werkzeug_make_server

    return werkzeug_make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
