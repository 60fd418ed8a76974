#!/usr/bin/env python3
"""A local HTTPS stand-in of the SNS host for the inbound specs.

usage: certsrv.py CERT KEY DIR

Listens on a free port of 127.0.0.1 with CERT/KEY (spec/support/mkcerts.sh's
server.pem, valid for localhost) and prints the port on its first line.

  GET /<name>.pem            the file DIR/<name>.pem (404 when absent)
  GET /status/<code>/x.pem   answers <code> (a 302 to /ok.pem for 3xx)
  GET /slow/x.pem            answers after 5 s
  GET /?Action=ConfirmSubscription&...   200 with SNS's XML answer
  GET /log                   the paths asked for so far (one a line), not logged itself
  GET /reset                 empties the log
Every other request is logged and answered 404.
"""
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CERT, KEY, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
LOG = []
LOCK = threading.Lock()

CONFIRMED = (b'<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
             b'<ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:t:x'
             b'</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path
        if path == "/log":
            with LOCK:
                body = "".join(p + "\n" for p in LOG).encode()
            return self.answer(200, body)
        if path == "/reset":
            with LOCK:
                LOG.clear()
            return self.answer(200)
        with LOCK:
            LOG.append(path)
        if path.startswith("/?Action=ConfirmSubscription"):
            return self.answer(200, CONFIRMED)
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            if 300 <= code < 400:
                return self.answer(code, b"", [("Location", "/ok.pem")])
            return self.answer(code, b"no")
        if path.startswith("/slow/"):
            time.sleep(5)
            return self.answer(200, b"late")
        name = os.path.basename(path)
        full = os.path.join(DIR, name)
        if name.endswith(".pem") and "/" not in path[1:] and os.path.isfile(full):
            with open(full, "rb") as f:
                return self.answer(200, f.read())
        return self.answer(404, b"not found")


class Server(ThreadingHTTPServer):
    """TLS on each accepted connection, in its own thread and with a time
    limit: a client that connects and never finishes its handshake holds
    that thread only, never the accept loop."""
    daemon_threads = True
    ctx = None

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except OSError:
            return  # a refused certificate, a client that gave up
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass  # a client that gave up (the slow path, a refused certificate) is expected


def main():
    server = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    server.ctx = ctx
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
