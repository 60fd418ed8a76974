#!/usr/bin/python3
"""Local stand-ins for the places AWS credentials come from, for the Lua test suite:

  EC2 instance metadata (IMDSv2)   PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
  container credentials endpoint   GET /container/credentials
  STS (query protocol, XML)        POST /  Action=AssumeRole (SigV4 checked with botocore, service "sts")
                                           Action=AssumeRoleWithWebIdentity (unsigned)

Every source hands out the temporary credentials the social-messaging stand-in (standin.py)
accepts, so a send signed with them goes through.  A control API under /_creds/ sets how each
source behaves, counts calls and returns what was asked.  See STANDIN.md ("Credential sources").

  /usr/bin/python3 spec/support/credsrv.py --ready-file F [--host 127.0.0.1] [--port 0]
      [--region us-east-1] [--lifetime 3600]

Standard library + botocore only.
"""

import argparse
import copy
import datetime
import hmac
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standin  # noqa: E402  (its known credentials and botocore's server-side SigV4)

import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402

TEMP = {
    "AccessKeyId": standin.TEMP_ACCESS_KEY_ID,
    "SecretAccessKey": standin.TEMP_SECRET_ACCESS_KEY,
    "Token": standin.TEMP_SESSION_TOKEN,
}
# credentials STS accepts for signing AssumeRole: access key -> (secret, required token)
SIGNERS = {
    standin.STATIC_ACCESS_KEY_ID: (standin.STATIC_SECRET_ACCESS_KEY, None),
    standin.TEMP_ACCESS_KEY_ID: (standin.TEMP_SECRET_ACCESS_KEY, standin.TEMP_SESSION_TOKEN),
}
IMDS_TOKEN = "imds-session-token-" + uuid.uuid4().hex
ROLE = "standin-role"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
REGION = "us-east-1"
MAX_SKEW = datetime.timedelta(minutes=15)

DEFAULTS = {
    # mode: ok | v1 | no-role | hang | garbage | error | code | hang-credentials
    "imds": {"mode": "ok", "ttl": 3600, "delay_ms": 3000},
    # mode: ok | garbage | error | hang; token: the Authorization value required (null: none)
    "container": {"mode": "ok", "ttl": 3600, "token": None, "delay_ms": 3000},
    # mode: ok | hang; ttl of handed-out credentials.  Role names (the part after "role/")
    # choose other answers: denied, garbage, malformed, expired.
    "sts": {"mode": "ok", "ttl": 3600, "delay_ms": 3000},
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.config = copy.deepcopy(DEFAULTS)
            self.stats = {}
            self.requests = []

    def set(self, obj):
        with self.lock:
            for source, values in obj.items():
                if source not in self.config or not isinstance(values, dict):
                    raise ValueError("unknown source %r" % source)
                for k, v in values.items():
                    if k not in self.config[source]:
                        raise ValueError("unknown key %s.%s" % (source, k))
                    self.config[source][k] = v

    def get(self, source):
        with self.lock:
            return dict(self.config[source])

    def count(self, name, record=None):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + 1
            if record is not None:
                record["call"] = name
                self.requests.append(record)


STATE = State()


def iso(t):
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials_json(ttl, token_key="Token"):
    doc = dict(TEMP)
    doc[token_key] = doc.pop("Token")
    doc["Expiration"] = iso(time.time() + ttl)
    return doc


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "credsrv"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    def setup(self):
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().setup()

    def do_GET(self):
        try:
            self._dispatch()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            self.close_connection = True
            self._send(500, "text/plain", b"internal error")

    do_PUT = do_POST = do_GET

    def _send(self, status, ctype, body, headers=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, "application/json", json.dumps(obj).encode())

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _dispatch(self):
        path = self.path.split("?", 1)[0]
        body = self._body()
        if path.startswith("/_creds/"):
            return self._control(path, body)
        if path.startswith("/latest/"):
            return self._imds(path)
        if path == "/container/credentials" and self.command == "GET":
            return self._container()
        if path == "/" and self.command == "POST":
            return self._sts(body)
        self._send(404, "text/plain", b"not found")

    # -- control
    def _control(self, path, body):
        if path == "/_creds/reset" and self.command == "POST":
            STATE.reset()
            return self._json(200, {"ok": True})
        if path == "/_creds/set" and self.command == "POST":
            try:
                STATE.set(json.loads(body.decode() or "{}"))
            except (ValueError, AttributeError) as e:
                return self._json(400, {"error": str(e)})
            return self._json(200, {"ok": True})
        if path == "/_creds/stats" and self.command == "GET":
            with STATE.lock:
                return self._json(200, dict(STATE.stats))
        if path == "/_creds/requests" and self.command == "GET":
            with STATE.lock:
                return self._json(200, {"requests": list(STATE.requests)})
        self._json(404, {"error": "unknown control endpoint"})

    # -- IMDS
    def _imds(self, path):
        cfg = STATE.get("imds")
        mode = cfg["mode"]
        if path == "/latest/api/token" and self.command == "PUT":
            STATE.count("imds_token")
            if mode == "hang":
                time.sleep(cfg["delay_ms"] / 1000.0)
            if mode == "v1":
                return self._send(403, "text/plain", b"Forbidden")
            ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit():
                return self._send(400, "text/plain", b"Bad Request")
            return self._send(200, "text/plain", IMDS_TOKEN.encode(),
                              [("x-aws-ec2-metadata-token-ttl-seconds", ttl)])
        if self.command != "GET":
            return self._send(405, "text/plain", b"Method Not Allowed")
        if mode != "v1" and self.headers.get("x-aws-ec2-metadata-token") != IMDS_TOKEN:
            return self._send(401, "text/plain", b"Unauthorized")
        prefix = "/latest/meta-data/iam/security-credentials/"
        if path == prefix:
            STATE.count("imds_role")
            if mode == "no-role":
                return self._send(404, "text/plain", b"Not Found")
            return self._send(200, "text/plain", ROLE.encode())
        if path == prefix + ROLE:
            STATE.count("imds_credentials")
            if mode == "hang-credentials":
                time.sleep(cfg["delay_ms"] / 1000.0)
            if mode == "garbage":
                return self._send(200, "text/plain", b"<html>Service Unavailable")
            if mode == "error":
                return self._send(500, "text/plain", b"Internal Server Error")
            if mode == "code":
                return self._json(200, {"Code": "AssumeRoleUnauthorizedAccess",
                                        "Message": "EC2 cannot assume the role",
                                        "LastUpdated": iso(time.time())})
            doc = {"Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC"}
            doc.update(credentials_json(cfg["ttl"]))
            return self._json(200, doc)
        self._send(404, "text/plain", b"Not Found")

    # -- container
    def _container(self):
        cfg = STATE.get("container")
        auth = self.headers.get("Authorization")
        STATE.count("container", {"authorization": auth, "accept": self.headers.get("Accept")})
        if cfg["mode"] == "hang":
            time.sleep(cfg["delay_ms"] / 1000.0)
        if cfg["token"] is not None and auth != cfg["token"]:
            return self._json(401, {"code": "Unauthorized", "message": "bad authorization token"})
        if cfg["mode"] == "garbage":
            return self._send(200, "application/json", b"{not json")
        if cfg["mode"] == "error":
            return self._json(500, {"code": "InternalError", "message": "the agent is unwell"})
        self._json(200, credentials_json(cfg["ttl"]))

    # -- STS
    def _sts_error(self, status, code, message, kind="Sender"):
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
                '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                % (STS_NS, kind, code, escape(message), uuid.uuid4()))
        self._send(status, "text/xml", body.encode())

    def _check_signature(self, body):
        """None when the SigV4 signature is right, else (code, message)."""
        authz = self.headers.get("Authorization")
        if not authz:
            return ("MissingAuthenticationToken", "Request is missing Authentication Token")
        m = re.match(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", authz)
        if not m:
            return ("IncompleteSignature", "The Authorization header is malformed")
        akid, date, region, service, signed, signature = m.groups()
        if akid not in SIGNERS:
            return ("InvalidClientTokenId", "The security token included in the request is invalid.")
        secret, want_token = SIGNERS[akid]
        if service != "sts" or region != REGION:
            return ("SignatureDoesNotMatch", "Credential should be scoped to a valid region and service 'sts'.")
        amz_date = self.headers.get("X-Amz-Date") or ""
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return ("IncompleteSignature", "X-Amz-Date is missing or malformed")
        if abs(when - datetime.datetime.utcnow()) > MAX_SKEW or amz_date[:8] != date:
            return ("SignatureDoesNotMatch", "Signature expired or not yet current")
        names = signed.split(";")
        token = self.headers.get("X-Amz-Security-Token")
        for need in ("host", "x-amz-date", "content-type") + (("x-amz-security-token",) if token else ()):
            if need not in names:
                return ("SignatureDoesNotMatch", "%s must be signed" % need)
        if want_token is None and token is not None or want_token is not None and (
                token is None or not hmac.compare_digest(want_token, token)):
            return ("InvalidClientTokenId", "The security token included in the request is invalid.")
        req = botocore.awsrequest.AWSRequest(method="POST", url="http://%s%s" % (self.headers.get("Host"),
                                                                                 self.path), data=body)
        for name in names:
            if self.headers.get(name) is None:
                return ("SignatureDoesNotMatch", "signed header %s is absent" % name)
            req.headers[name] = self.headers.get(name)
        req.context["timestamp"] = amz_date
        auth = standin._ServerSigV4Auth(botocore.credentials.Credentials(akid, secret, want_token), "sts", REGION)
        expected = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
        if not hmac.compare_digest(expected, signature):
            return ("SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided.")
        return None

    def _sts(self, body):
        cfg = STATE.get("sts")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = form.get("Action")
        record = {k: v for k, v in form.items()}
        record["authorization"] = self.headers.get("Authorization")
        record["security_token"] = self.headers.get("X-Amz-Security-Token")
        record["content_type"] = self.headers.get("Content-Type")
        STATE.count("sts_" + str(action), record)
        if cfg["mode"] == "hang":
            time.sleep(cfg["delay_ms"] / 1000.0)
        if form.get("Version") != "2011-06-15":
            return self._sts_error(400, "InvalidAction", "Could not find operation for this version")
        if action == "AssumeRole":
            bad = self._check_signature(body)
            if bad:
                record["signature"] = "bad"
                return self._sts_error(403, bad[0], bad[1])
            record["signature"] = "ok"
        elif action == "AssumeRoleWithWebIdentity":
            if not form.get("WebIdentityToken"):
                return self._sts_error(400, "ValidationError", "WebIdentityToken is required")
            if form["WebIdentityToken"] == "bad-token":
                return self._sts_error(400, "InvalidIdentityToken", "The ID token is not valid for the role.")
        else:
            return self._sts_error(400, "InvalidAction", "Could not find operation %s" % action)
        role_arn = form.get("RoleArn") or ""
        session = form.get("RoleSessionName") or ""
        if not role_arn or not session:
            return self._sts_error(400, "ValidationError", "RoleArn and RoleSessionName are required")
        role = role_arn.rsplit("/", 1)[-1]
        if role == "denied":
            return self._sts_error(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/standin is not "
                                   "authorized to perform: sts:%s on resource: %s" % (action, role_arn))
        if role == "garbage":
            return self._send(200, "text/xml", b"<html><body>Service Unavailable")
        ttl = -60 if role == "expired" else cfg["ttl"]
        creds = credentials_json(ttl, token_key="SessionToken")
        if role == "malformed":
            del creds["SecretAccessKey"]
        inner = "".join("      <%s>%s</%s>\n" % (k, escape(v), k) for k, v in creds.items())
        extra = ""
        if action == "AssumeRoleWithWebIdentity":
            extra = ("    <SubjectFromWebIdentityToken>system:serviceaccount:default:standin"
                     "</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n"
                     "    <Provider>oidc.standin.example</Provider>\n")
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<%sResponse xmlns="%s">\n  <%sResult>\n%s'
               '    <AssumedRoleUser>\n      <Arn>arn:aws:sts::123456789012:assumed-role/%s/%s</Arn>\n'
               '      <AssumedRoleId>AROASTANDINEXAMPLE:%s</AssumedRoleId>\n    </AssumedRoleUser>\n'
               '    <Credentials>\n%s    </Credentials>\n    <PackedPolicySize>6</PackedPolicySize>\n'
               '  </%sResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
               '</%sResponse>\n'
               % (action, STS_NS, action, extra, escape(role), escape(session), escape(session), inner,
                  action, uuid.uuid4(), action))
        self._send(200, "text/xml", xml.encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):  # no name lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):
            return
        traceback.print_exc(file=sys.stderr)


def main(argv=None):
    global REGION
    ap = argparse.ArgumentParser(description="IMDS, container and STS stand-ins")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--lifetime", type=float, default=3600.0)
    args = ap.parse_args(argv)
    REGION = args.region
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = Server((args.host, args.port), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    standin.write_ready_file(args.ready_file, {"port": server.server_port, "pid": os.getpid()})
    stop.wait(args.lifetime if args.lifetime > 0 else None)
    server.shutdown()
    server.server_close()
    try:
        os.unlink(args.ready_file)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
