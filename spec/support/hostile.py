#!/usr/bin/python3
"""Hostile HTTP answers for the specs of the OpenResty transport
(spec/resty_hostile_spec.lua): one loopback port, raw sockets, keep-alive.
The first segment of a request's path picks the answer:

  /ok/...               200 "ok" with a Content-Length
  /endless-body/...     200 without a length: bytes until the client hangs up (at most LIMIT)
  /endless-header/...   a header line that never ends (at most LIMIT)
  /endless-chunked/...  chunked: 64 KiB chunks without end (at most LIMIT)
  /endless-chunk-line/  chunked: a chunk-size line whose extension never ends
  /endless-trailer/...  chunked: a last chunk, then a trailer line that never ends
  /drip/...             a status line, then a header line one byte every 0.2 s (for DRIP seconds)
  /drip-body/...        a head without a length, then the body one byte every 0.2 s
  /drip-chunked/...     chunked, then chunk-size lines one byte every 0.2 s
  /interim/...          100 Continue and 103 Early Hints, then 200 {"messageId":"id-<text, spaces as ->"}
                        where <text> is the sent WhatsApp message's text body; every other
                        answer on a connection comes in pieces with pauses between them

Control (JSON): GET /_hostile/log -> {"connections": n, "requests": [{"path",
"method", "connection"}], "streams": [{"path", "sent", "ended"}]} where a stream is an endless or
dripping answer, "sent" the bytes it wrote and "ended" "peer" (the client hung up) or "limit";
"connections" counts connections but the control API's (one that sends no request counts too).
POST /_hostile/reset clears it. The control requests are not logged.

  /usr/bin/python3 spec/support/hostile.py --ready-file F [--lifetime 600]

F gets {"port": N, "pid": N} once it listens. Standard library only.
"""

import argparse
import base64
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

LIMIT = 64 * 1024 * 1024  # an endless answer stops here (and closes): a bound for a client without one
DRIP = 8.0  # seconds a drip goes on before the server closes
BLOCK = b"a" * 65536

lock = threading.Lock()
state = {"serial": 0, "connections": 0, "requests": [], "streams": []}


def record(key, value):
    with lock:
        state[key].append(value)


class Gone(Exception):
    pass


def send(sock, data):
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
        raise Gone()


def stream(sock, path, head, piece):
    """head, then piece after piece until the client goes or LIMIT is sent."""
    sent = 0
    ended = "limit"
    try:
        send(sock, head)
        sent = len(head)
        while sent < LIMIT:
            send(sock, piece)
            sent += len(piece)
    except Gone:
        ended = "peer"
    record("streams", {"path": path, "sent": sent, "ended": ended})


def drip(sock, path, head, byte):
    sent, ended = 0, "limit"
    until = time.time() + DRIP
    try:
        send(sock, head)
        sent = len(head)
        while time.time() < until:
            send(sock, byte)
            sent += 1
            time.sleep(0.2)
    except Gone:
        ended = "peer"
    record("streams", {"path": path, "sent": sent, "ended": ended})


def message_text(body):
    """The text body of the WhatsApp message in a SendWhatsAppMessage body."""
    try:
        outer = json.loads(body)
        inner = json.loads(base64.b64decode(outer["message"]))
        return str(inner["text"]["body"])
    except Exception:  # noqa: BLE001 - anything else is just "?"
        return "?"


def answer(status, body, ctype="application/json", extra=b""):
    reason = {200: b"OK", 404: b"Not Found"}.get(status, b"X")
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nx-amzn-RequestId: hostile\r\n%sContent-Length: %d\r\n\r\n"
            % (status, reason, ctype.encode(), extra, len(body)) + body)


class Handler(socketserver.BaseRequestHandler):
    def read_request(self, buf):
        while b"\r\n\r\n" not in buf:
            data = self.request.recv(65536)
            if not data:
                return None, b""
            buf += data
            if len(buf) > 1 << 20:
                return None, b""
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0") or 0)
        while len(rest) < n:
            data = self.request.recv(65536)
            if not data:
                return None, b""
            rest += data
        req = {"method": parts[0], "path": parts[1] if len(parts) > 1 else "", "headers": headers,
               "body": rest[:n]}
        return req, rest[n:]

    def handle(self):
        with lock:
            state["serial"] += 1
            serial = state["serial"]
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        served = 0
        counted = False
        try:
            while True:
                req, buf = self.read_request(buf)
                if not counted and (req is None or not req["path"].startswith("/_hostile/")):
                    counted = True  # a connection other than the control API's
                    with lock:
                        state["connections"] += 1
                if req is None:
                    return
                served += 1
                if not self.serve(req, serial, served):
                    return
        except (Gone, ConnectionResetError, BrokenPipeError):
            return

    def serve(self, req, serial, served):
        """Answers one request; False closes the connection."""
        sock, path = self.request, req["path"]
        if path.startswith("/_hostile/"):
            if path == "/_hostile/reset":
                with lock:
                    state.update(connections=0, requests=[], streams=[])
                send(sock, answer(200, b'{"ok":true}'))
            else:
                with lock:
                    text = json.dumps(state).encode()
                send(sock, answer(200, text))
            return True
        record("requests", {"path": path, "method": req["method"], "connection": serial})
        mode = path.split("/")[1] if path.count("/") >= 1 else ""
        plain = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        chunked = plain + b"Transfer-Encoding: chunked\r\n\r\n"
        if mode == "ok":
            send(sock, answer(200, b"ok", "text/plain"))
            return True
        if mode == "endless-body":
            stream(sock, path, plain + b"\r\n", BLOCK)
        elif mode == "endless-header":
            stream(sock, path, plain + b"X-Endless: ", BLOCK)
        elif mode == "endless-chunked":
            stream(sock, path, chunked, b"10000\r\n" + BLOCK + b"\r\n")
        elif mode == "endless-chunk-line":
            stream(sock, path, chunked + b"1;ext=", BLOCK)
        elif mode == "endless-trailer":
            stream(sock, path, chunked + b"2\r\n{}\r\n0\r\nX-Trailer: ", BLOCK)
        elif mode == "drip":
            drip(sock, path, b"HTTP/1.1 200 OK\r\nX-Drip: ", b"d")
        elif mode == "drip-body":
            drip(sock, path, plain + b"\r\n", b" ")
        elif mode == "drip-chunked":
            drip(sock, path, chunked + b"1\r\n{\r\n", b"0")
        elif mode == "interim":
            final = answer(200, json.dumps({"messageId": "id-" + message_text(req["body"]).replace(" ", "-")}).encode())
            pieces = [b"HTTP/1.1 100 Continue\r\n\r\n",
                      b"HTTP/1.1 103 Early Hints\r\nLink: </hint.css>; rel=preload\r\nLink: </b.js>\r\n\r\n",
                      final]
            if served % 2 == 1:
                send(sock, b"".join(pieces))
            else:
                for p in pieces:
                    send(sock, p)
                    time.sleep(0.02)
            return True
        else:
            send(sock, answer(404, b'{"message":"no such mode"}'))
            return True
        return False


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.lifetime > 0:
        timer = threading.Timer(args.lifetime, stop)
        timer.daemon = True
        timer.start()
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": port, "pid": os.getpid()}, f)
    os.replace(tmp, args.ready_file)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
        try:
            os.remove(args.ready_file)
        except OSError:
            pass
    sys.exit(0)


if __name__ == "__main__":
    main()
