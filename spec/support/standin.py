#!/usr/bin/python3
"""Local stand-in for the AWS End User Messaging Social endpoint (service "social-messaging").

Used by the Lua test suite.  It authenticates requests like AWS (SigV4, recomputed with botocore,
i.e. with an implementation other than the client's), validates SendWhatsAppMessage input like the
service model says, records accepted sends, and lets tests inject failures through a small control
API under /_standin/.  See STANDIN.md next to this file.

Run with Debian's Python (it has botocore):

  /usr/bin/python3 spec/support/standin.py --ready-file F [--host 127.0.0.1] [--http-port 0]
      [--https-port 0 --cert server.pem --key server.key] [--region us-east-1] [--lifetime 3600]

Standard library + botocore only.
"""

import argparse
import base64
import binascii
import datetime
import email.utils
import hashlib
import hmac
import http
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import botocore.auth
import botocore.awsrequest
import botocore.compat
import botocore.credentials

# ---------------------------------------------------------------------------------------------
# Known credentials (documented in STANDIN.md).  Test-only values; never printed by the server.

STATIC_ACCESS_KEY_ID = "AKIDSTANDINEXAMPLE"
STATIC_SECRET_ACCESS_KEY = "standin/Secret+Key/0123456789EXAMPLEKEY"

TEMP_ACCESS_KEY_ID = "ASIASTANDINTEMPKEY"
TEMP_SECRET_ACCESS_KEY = "standin/Temp+Secret/0123456789EXAMPLEKEY"
TEMP_SESSION_TOKEN = "standin-session-token/EXAMPLE+token=="

EXPIRED_ACCESS_KEY_ID = "ASIASTANDINEXPIRED"
EXPIRED_SECRET_ACCESS_KEY = "standin/Expired+Secret/0123456789EXAMPLE"
EXPIRED_SESSION_TOKEN = "standin-expired-token"

DENIED_ACCESS_KEY_ID = "AKIDSTANDINDENIED"
DENIED_SECRET_ACCESS_KEY = "standin/Denied+Secret/0123456789EXAMPLEKEY"

# access key id -> (secret, required session token or None, behaviour after a valid signature)
CREDENTIALS = {
    STATIC_ACCESS_KEY_ID: (STATIC_SECRET_ACCESS_KEY, None, None),
    TEMP_ACCESS_KEY_ID: (TEMP_SECRET_ACCESS_KEY, TEMP_SESSION_TOKEN, None),
    EXPIRED_ACCESS_KEY_ID: (EXPIRED_SECRET_ACCESS_KEY, EXPIRED_SESSION_TOKEN, "expired"),
    DENIED_ACCESS_KEY_ID: (DENIED_SECRET_ACCESS_KEY, None, "denied"),
}

SERVICE = "social-messaging"
MAX_SKEW = datetime.timedelta(minutes=15)
MAX_BODY = 10 * 1024 * 1024  # larger bodies -> 413 RequestEntityTooLargeException
HANDSHAKE_TIMEOUT = 10.0

# ---------------------------------------------------------------------------------------------
# Errors

MODELED_NS = "http://internal.amazon.com/coral/com.amazonaws.socialmessaging/"
FRAMEWORK_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"

# code -> HTTP status.  Codes of the socialmessaging model carry MODELED_NS in x-amzn-ErrorType,
# the front-door/framework ones FRAMEWORK_NS.
MODELED_ERRORS = {
    "ValidationException": 400,
    "InvalidParametersException": 400,
    "LimitExceededException": 400,
    "AccessDeniedException": 403,
    "AccessDeniedByMetaException": 403,
    "ResourceNotFoundException": 404,
    "ThrottledRequestException": 429,
    "InternalServiceException": 500,
    "DependencyException": 502,
}
FRAMEWORK_ERRORS = {
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 403,
    "InvalidSignatureException": 403,
    "UnrecognizedClientException": 403,
    "ExpiredTokenException": 403,
    "SerializationException": 400,
    "UnknownOperationException": 404,
    "UnsupportedMediaTypeException": 415,
    "RequestEntityTooLargeException": 413,
    "InternalFailure": 500,
    "ServiceUnavailableException": 503,
}
ERROR_STATUS = dict(FRAMEWORK_ERRORS, **MODELED_ERRORS)
# default code for an injected error given only a status
STATUS_DEFAULT_CODE = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottledRequestException",
    500: "InternalServiceException",
    502: "DependencyException",
    503: "ServiceUnavailableException",
}

MSG_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
MSG_BAD_TOKEN = "The security token included in the request is invalid."


class ApiError(Exception):
    def __init__(self, code, message, status=None, form="header", extra_headers=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status if status is not None else ERROR_STATUS.get(code, 400)
        self.form = form
        self.extra_headers = extra_headers or []


def error_payload(code, message, form):
    """(headers, body) for an error in one of the wire forms of restJson1."""
    headers = []
    if form == "header":
        ns = MODELED_NS if code in MODELED_ERRORS or code not in FRAMEWORK_ERRORS else FRAMEWORK_NS
        headers.append(("x-amzn-ErrorType", code + ":" + ns))
        body = {"message": message}
    elif form == "header-bare":
        headers.append(("x-amzn-ErrorType", code))
        body = {"message": message}
    elif form == "body-type":
        body = {"__type": "com.amazonaws.socialmessaging#" + code, "message": message}
    elif form == "body-code":
        body = {"code": code, "Message": message}
    else:  # validated at injection time
        raise ValueError("unknown error form " + repr(form))
    if message is None:
        body = {k: v for k, v in body.items() if v is not None}
    return headers, json.dumps(body).encode()


# ---------------------------------------------------------------------------------------------
# Input shapes (a small, table-driven subset of the socialmessaging model)

_JAVA_LINE_TERMINATORS = "\n\r\x85\u2028\u2029"


def java_regex(pattern):
    """Compile a model pattern so that re.fullmatch behaves like Java's String.matches.

    Differences handled: Java's '.' excludes all line terminators (not only '\\n'), and '$'
    (without MULTILINE) matches at the end or before one final line terminator."""
    dot = "[^" + _JAVA_LINE_TERMINATORS + "]"
    dollar = "(?=(?:\r\n|[" + _JAVA_LINE_TERMINATORS + "])?\\Z)"
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            # a ']' right after '[' or '[^' is literal
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":
                out.append("\\]")
                i += 1
        elif c == ".":
            out.append(dot)
        elif c == "$":
            out.append(dollar)
        else:
            out.append(c)
        i += 1
    return re.compile("".join(out))


class Member:
    """One input member.  kind: 'string', 'blob' (base64 in JSON), 'boolean', 'integer',
    'map' (string to string) or 'structure' (with `members`); location: 'body' or
    'querystring' (query name = `query_name` or the member name).  A sensitive member (or one
    inside a sensitive structure) is never quoted in error messages."""

    def __init__(self, name, kind, required=False, min=None, max=None, pattern=None,
                 sensitive=False, location="body", query_name=None, members=None):
        self.name = name
        self.kind = kind
        self.required = required
        self.min = min
        self.max = max
        self.pattern = pattern
        self.regex = java_regex(pattern) if pattern is not None else None
        self.sensitive = sensitive
        self.location = location
        self.query_name = query_name or name
        self.members = members or []


class Operation:
    def __init__(self, name, method, uri, members, handler):
        self.name = name
        self.method = method
        self.uri = uri
        self.members = members
        self.handler = handler
        self.has_body = any(m.location == "body" for m in members)


def _java_len(s):
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _describe_value(member, value, path, sensitive):
    if sensitive or member.sensitive or member.kind == "blob":
        return "Value at '%s'" % path
    if value is None:
        return "Value null at '%s'" % path
    return "Value '%s' at '%s'" % (value, path)


def _json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return type(v).__name__


_JSON_KIND = {"string": str, "blob": str, "map": dict, "structure": dict}
_JSON_NAME = {"string": "string", "blob": "string", "map": "object", "structure": "object",
              "boolean": "boolean", "integer": "number"}


def _check_member(m, raw, path, errors, sensitive=False, from_query=False):
    """The checked value of one present member (blobs decoded to bytes, query integers parsed);
    constraint violations go to `errors`.  Raises SerializationException for wrong JSON types."""
    sensitive = sensitive or m.sensitive
    if from_query and m.kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise ApiError("SerializationException",
                           "Could not parse '%s' as an integer for '%s'" % (raw, path))
        raw = int(raw)
    wrong = False
    if m.kind == "boolean":
        wrong = not isinstance(raw, bool)
    elif m.kind == "integer":
        wrong = isinstance(raw, bool) or not isinstance(raw, int)
    else:
        wrong = not isinstance(raw, _JSON_KIND[m.kind])
    if wrong:
        raise ApiError("SerializationException", "Expected a JSON %s for '%s' but found a JSON %s"
                       % (_JSON_NAME[m.kind], path, _json_type(raw)))
    if m.kind == "boolean":
        return raw
    if m.kind == "integer":
        if m.min is not None and raw < m.min:
            errors.append("%s failed to satisfy constraint: Member must have value greater than or "
                          "equal to %d" % (_describe_value(m, raw, path, sensitive), m.min))
        if m.max is not None and raw > m.max:
            errors.append("%s failed to satisfy constraint: Member must have value less than or "
                          "equal to %d" % (_describe_value(m, raw, path, sensitive), m.max))
        return raw
    if m.kind == "map":
        for k, v in raw.items():
            if not isinstance(v, str):
                raise ApiError("SerializationException",
                               "Expected a JSON string for '%s.%s' but found a JSON %s"
                               % (path, k, _json_type(v)))
        return dict(raw)
    if m.kind == "structure":
        out = {}
        for sub in m.members:  # unknown members are ignored, as smithy servers do
            sub_path = path + "." + sub.name
            v = raw.get(sub.name)
            if v is None:
                if sub.required:
                    errors.append("Value null at '%s' failed to satisfy constraint: "
                                  "Member must not be null" % sub_path)
                continue
            out[sub.name] = _check_member(sub, v, sub_path, errors, sensitive)
        return out
    fail = []
    if m.kind == "blob":
        try:
            value = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            errors.append("%s failed to satisfy constraint: Member must be valid "
                          "base64-encoded data (standard alphabet, padded)"
                          % _describe_value(m, raw, path, sensitive))
            return None
        length = len(value)
    else:
        value = raw
        length = _java_len(raw)
    if m.min is not None and length < m.min:
        fail.append("Member must have length greater than or equal to %d" % m.min)
    if m.max is not None and length > m.max:
        fail.append("Member must have length less than or equal to %d" % m.max)
    if m.regex is not None and not m.regex.fullmatch(raw):
        fail.append("Member must satisfy regular expression pattern: %s" % m.pattern)
    for f in fail:
        errors.append("%s failed to satisfy constraint: %s"
                      % (_describe_value(m, raw, path, sensitive), f))
    return value


def validate_input(op, body_obj, query):
    """Check members against the shape table; returns {name: value} (blobs decoded to bytes).
    Raises SerializationException for wrong JSON types, ValidationException for constraints."""
    errors = []
    values = {}
    for m in op.members:
        if m.location == "querystring":
            vals = query.get(m.query_name)
            raw = vals[0] if vals else None
        else:
            raw = body_obj.get(m.name)
        if raw is None:
            if m.required:
                errors.append("Value null at '%s' failed to satisfy constraint: "
                              "Member must not be null" % m.name)
            continue
        value = _check_member(m, raw, m.name, errors, from_query=m.location == "querystring")
        if value is not None:
            values[m.name] = value
    if errors:
        n = len(errors)
        raise ApiError("ValidationException", "%d validation error%s detected: %s"
                       % (n, "" if n == 1 else "s", "; ".join(errors)))
    return values


def _reject_constant(name):
    raise ValueError("invalid JSON constant " + name)


def send_whatsapp_message(ctx, values):
    """SendWhatsAppMessage: the blob must be a UTF-8 WhatsApp Cloud API message object.
    Returns (output, record fields)."""
    raw = values["message"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError("InvalidParametersException",
                       "The message is not valid UTF-8 (byte offset %d)" % e.start)
    try:
        msg = json.loads(text, parse_constant=_reject_constant)
    except ValueError as e:
        raise ApiError("InvalidParametersException", "The message is not valid JSON: %s" % e)
    if not isinstance(msg, dict):
        raise ApiError("InvalidParametersException",
                       "The message must be a JSON object (WhatsApp message), got a JSON %s"
                       % _json_type(msg))
    if msg.get("messaging_product") != "whatsapp":
        raise ApiError("InvalidParametersException",
                       'The message must contain "messaging_product": "whatsapp"')
    # a read receipt (optionally with a typing indicator) has no to/type; AWS
    # passes it through to Meta like any message (Meta's read receipts, docs/REFERENCES.md)
    keys = ("message_id",) if msg.get("status") == "read" else ("to", "type")
    for key in keys:
        v = msg.get(key)
        if not isinstance(v, str) or not v:
            raise ApiError("InvalidParametersException",
                           'The message must contain a non-empty string "%s"' % key)
    message_id = str(uuid.uuid4())
    record = {
        "message": msg,
        "message_text": text,
        "originationPhoneNumberId": values["originationPhoneNumberId"],
        "metaApiVersion": values["metaApiVersion"],
        "message_id": message_id,
    }
    return {"messageId": message_id}, record


# -- media (PostWhatsAppMessageMedia, GetWhatsAppMessageMedia, DeleteWhatsAppMessageMedia)
# Uploaded media live in the records (so /_standin/reset forgets them): an upload record holds
# the mediaId, a delete record removes it.

_MIME_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
               "mp4": "video/mp4", "3gp": "video/3gpp", "ogg": "audio/ogg", "mp3": "audio/mpeg",
               "aac": "audio/aac", "amr": "audio/amr", "pdf": "application/pdf",
               "txt": "text/plain"}


def _mime_type(name):
    ext = name.rsplit("/", 1)[-1].rsplit(".", 1)
    return _MIME_TYPES.get(ext[1].lower(), "application/octet-stream") if len(ext) == 2 \
        else "application/octet-stream"


def _one_of(values, a, b):
    """The one of members a and b that is given (InvalidParametersException unless exactly one)."""
    given = [n for n in (a, b) if n in values]
    if len(given) != 1:
        raise ApiError("InvalidParametersException",
                       "Exactly one of %s and %s must be given (got %s)"
                       % (a, b, " and ".join(given) if given else "neither"))
    return given[0]


def _find_media(media_id, phone):
    """The upload record of a media id still there for this origination phone number."""
    found = None
    for rec in STATE.snapshot_messages():
        if rec.get("mediaId") != media_id:
            continue
        if rec["operation"] == "PostWhatsAppMessageMedia":
            found = rec
        elif rec["operation"] == "DeleteWhatsAppMessageMedia":
            found = None
    if found is None or found["originationPhoneNumberId"] != phone:
        raise ApiError("ResourceNotFoundException",
                       "Media %s was not found for origination phone number %s" % (media_id, phone))
    return found


def post_whatsapp_message_media(ctx, values):
    source = _one_of(values, "sourceS3File", "sourceS3PresignedUrl")
    src = values[source]
    name = src["key"] if source == "sourceS3File" else src["url"].split("?", 1)[0]
    media_id = str(uuid.uuid4().int % 10 ** 16).rjust(16, "1")  # digits, like Meta's media ids
    record = {
        "mediaId": media_id,
        "originationPhoneNumberId": values["originationPhoneNumberId"],
        "source": {source: src},
        "mimeType": _mime_type(name),
        "fileSize": 1000 + len(name),
    }
    return {"mediaId": media_id}, record


def get_whatsapp_message_media(ctx, values):
    media = _find_media(values["mediaId"], values["originationPhoneNumberId"])
    record = {"mediaId": values["mediaId"], "originationPhoneNumberId": values["originationPhoneNumberId"],
              "metadataOnly": values.get("metadataOnly", False)}
    if not values.get("metadataOnly"):
        dest = _one_of(values, "destinationS3File", "destinationS3PresignedUrl")
        record["destination"] = {dest: values[dest]}
    return {"mimeType": media["mimeType"], "fileSize": media["fileSize"]}, record


def delete_whatsapp_message_media(ctx, values):
    _find_media(values["mediaId"], values["originationPhoneNumberId"])
    record = {"mediaId": values["mediaId"], "originationPhoneNumberId": values["originationPhoneNumberId"],
              "query": ctx.path.partition("?")[2]}
    return {"success": True}, record


# -- linked WhatsApp Business Accounts: a fixed set of five, listed two per page by default
# (three pages), with six phone numbers; the first is the suite's usual origination number.

_ARN = "arn:aws:social-messaging:us-east-1:123456789012:"


def _phone(pid, number, name, quality="GREEN", region=None):
    p = {"arn": _ARN + "phone-number-id/" + pid, "phoneNumber": number,
         "phoneNumberId": "phone-number-id-" + pid, "metaPhoneNumberId": "1" + pid[:14].translate(
             str.maketrans("abcdef", "234567")),
         "displayPhoneNumberName": name, "displayPhoneNumber": number, "qualityRating": quality}
    if region:
        p["dataLocalizationRegion"] = region
    return p


def _account(n, name, status, phones, events=()):
    hexid = ("%x" % n) * 32
    return {"arn": _ARN + "waba/" + hexid, "id": "waba-" + hexid, "wabaId": "10000000000000%d" % n,
            "registrationStatus": status, "linkDate": 1727740800 + n * 86400, "wabaName": name,
            "eventDestinations": [{"eventDestinationArn": a} for a in events],
            "phoneNumbers": phones}


ACCOUNTS = [
    _account(1, "Lucky Shrub", "COMPLETE",
             [_phone("0123456789abcdef0123456789abcdef", "+14255550123", "Lucky Shrub"),
              _phone("11111111111111111111111111111111", "+14255550124", "Lucky Shrub Support",
                     "YELLOW")],
             events=["arn:aws:sns:us-east-1:123456789012:whatsapp-events"]),
    _account(2, "Philz Coffee", "COMPLETE",
             [_phone("22222222222222222222222222222222", "+16505550100", "Philz Coffee")]),
    _account(3, "Tour Dates", "INCOMPLETE", []),
    _account(4, "Order Updates", "COMPLETE",
             [_phone("44444444444444444444444444444444", "+442071838750", "Order Updates",
                     region="GB"),
              _phone("55555555555555555555555555555555", "+442071838751", "Order Updates 2")]),
    _account(5, "Coupons", "COMPLETE",
             [_phone("66666666666666666666666666666666", "+5511955550100", "Coupons", "RED")]),
]
DEFAULT_PAGE_SIZE = 2


def _account_by_id(ident):
    for a in ACCOUNTS:
        if ident in (a["id"], a["arn"]):
            return a
    raise ApiError("ResourceNotFoundException",
                   "Linked WhatsApp Business Account %s was not found" % ident)


def list_linked_whatsapp_business_accounts(ctx, values):
    token = values.get("nextToken")
    start = 0
    if token is not None:
        m = re.fullmatch(r"standin-page-([0-9]+)", token)
        if m is None or not 0 < int(m.group(1)) < len(ACCOUNTS):
            raise ApiError("InvalidParametersException", "The nextToken is not valid")
        start = int(m.group(1))
    end = start + values.get("maxResults", DEFAULT_PAGE_SIZE)
    summaries = [{k: v for k, v in a.items() if k != "phoneNumbers"} for a in ACCOUNTS[start:end]]
    out = {"linkedAccounts": summaries}
    if end < len(ACCOUNTS):
        out["nextToken"] = "standin-page-%d" % end
    return out, {"query": ctx.path.partition("?")[2], "input": values}


def get_linked_whatsapp_business_account(ctx, values):
    account = _account_by_id(values["id"])
    return {"account": account}, {"query": ctx.path.partition("?")[2], "input": values}


def get_linked_whatsapp_business_account_phone_number(ctx, values):
    for a in ACCOUNTS:
        for p in a["phoneNumbers"]:
            if values["id"] in (p["phoneNumberId"], p["arn"]):
                return ({"phoneNumber": p, "linkedWhatsAppBusinessAccountId": a["id"]},
                        {"query": ctx.path.partition("?")[2], "input": values})
    raise ApiError("ResourceNotFoundException", "Phone number %s was not found" % values["id"])


# shapes of the model (service-2.json) used by more than one operation
_PHONE_NUMBER_ID = dict(min=1, max=115,
                        pattern=r".*(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$).*")
_MEDIA_ID = dict(min=1, max=100, pattern=r"[A-Za-z0-9]+")


def _s3_file(name):
    return Member(name, "structure", sensitive=True, members=[
        Member("bucketName", "string", required=True, min=3, max=63,
               pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
        Member("key", "string", required=True, min=0, max=1024),
    ])


def _s3_presigned_url(name):
    return Member(name, "structure", sensitive=True, members=[
        Member("url", "string", required=True, min=1, max=2000,
               pattern=r"https://(.*)s3(.*).amazonaws.com/(.*)"),
        Member("headers", "map", required=True),
    ])


OPERATIONS = [
    Operation(
        "SendWhatsAppMessage", "POST", "/v1/whatsapp/send",
        [
            Member("originationPhoneNumberId", "string", required=True, min=1, max=115,
                   pattern=r".*(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$).*"),
            Member("message", "blob", required=True, min=1, max=2048000, sensitive=True),
            # no model constraint; the docs say "formatted as v{VersionNumber}"
            Member("metaApiVersion", "string", required=True, pattern=r"v[0-9]+(\.[0-9]+)?"),
        ],
        send_whatsapp_message,
    ),
    Operation(
        "PostWhatsAppMessageMedia", "POST", "/v1/whatsapp/media",
        [
            Member("originationPhoneNumberId", "string", required=True, **_PHONE_NUMBER_ID),
            _s3_presigned_url("sourceS3PresignedUrl"),
            _s3_file("sourceS3File"),
        ],
        post_whatsapp_message_media,
    ),
    Operation(
        "GetWhatsAppMessageMedia", "POST", "/v1/whatsapp/media/get",
        [
            Member("mediaId", "string", required=True, **_MEDIA_ID),
            Member("originationPhoneNumberId", "string", required=True, **_PHONE_NUMBER_ID),
            Member("metadataOnly", "boolean"),
            _s3_presigned_url("destinationS3PresignedUrl"),
            _s3_file("destinationS3File"),
        ],
        get_whatsapp_message_media,
    ),
    Operation(
        "DeleteWhatsAppMessageMedia", "DELETE", "/v1/whatsapp/media",
        [
            Member("mediaId", "string", required=True, location="querystring", **_MEDIA_ID),
            Member("originationPhoneNumberId", "string", required=True, location="querystring",
                   **_PHONE_NUMBER_ID),
        ],
        delete_whatsapp_message_media,
    ),
    Operation(
        "ListLinkedWhatsAppBusinessAccounts", "GET", "/v1/whatsapp/waba/list",
        [
            Member("nextToken", "string", min=1, max=600, location="querystring"),
            Member("maxResults", "integer", min=1, max=100, location="querystring"),
        ],
        list_linked_whatsapp_business_accounts,
    ),
    Operation(
        "GetLinkedWhatsAppBusinessAccount", "GET", "/v1/whatsapp/waba/details",
        [
            Member("id", "string", required=True, min=1, max=115, location="querystring",
                   pattern=r".*(^waba-.*$)|(^arn:.*:waba/[0-9a-zA-Z]+$).*"),
        ],
        get_linked_whatsapp_business_account,
    ),
    Operation(
        "GetLinkedWhatsAppBusinessAccountPhoneNumber", "GET", "/v1/whatsapp/waba/phone/details",
        [
            Member("id", "string", required=True, location="querystring", **_PHONE_NUMBER_ID),
        ],
        get_linked_whatsapp_business_account_phone_number,
    ),
    # More operations: add Operation(...) entries here (uri is constant for every operation of
    # this service) plus a handler returning (output dict, record dict or None).
]
ROUTES = {}
for _op in OPERATIONS:
    ROUTES.setdefault(_op.uri, {})[_op.method] = _op

# ---------------------------------------------------------------------------------------------
# SigV4 verification

_AMZ_DATE_RE = re.compile(r"\A\d{8}T\d{6}Z\Z")
_SIG_RE = re.compile(r"\A[0-9a-f]{64}\Z")
_HEADER_NAME_RE = re.compile(r"\A[a-z0-9!#$%&'*+.^_`|~-]+\Z")
_SIGV4_FMT = "%Y%m%dT%H%M%SZ"


class _ServerSigV4Auth(botocore.auth.SigV4Auth):
    """botocore's SigV4 with one server-side change: the client decides what is signed, so
    canonicalize exactly the headers given (botocore's client drops expect/user-agent/
    x-amzn-trace-id from what *it* signs).  Everything else is botocore's code."""

    def headers_to_sign(self, request):
        header_map = botocore.compat.HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        return header_map


def query_pairs(query):
    """Decoded (key, value) pairs of a raw query string.  Passed to botocore as `params`, which
    re-encodes and sorts them: the canonical query then follows the AWS rule (decode, re-encode
    with %XX for everything but A-Za-z0-9-_.~) whatever encoding the client used on the wire."""
    pairs = []
    for part in query.split("&"):
        if part:
            k, _, v = part.partition("=")
            pairs.append((unquote(k), unquote(v)))
    return pairs


def botocore_signature(method, scheme, host, raw_target, header_pairs, body, akid, secret, token,
                       region, amz_date):
    path, _, query = raw_target.partition("?")
    req = botocore.awsrequest.AWSRequest(method=method, url="%s://%s%s" % (scheme, host, path),
                                         data=body, params=query_pairs(query))
    for name, value in header_pairs:  # HTTPHeaders keeps repeated names, in order
        req.headers[name] = value
    req.context["timestamp"] = amz_date
    auth = _ServerSigV4Auth(botocore.credentials.Credentials(akid, secret, token), SERVICE, region)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    return auth.signature(sts, req)


def authenticate(method, raw_path, headers, body, scheme, region):
    """Returns (access key id, signed header names).  Raises ApiError like the service."""
    authz = headers.get("Authorization")
    if authz is None:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    echo = " Authorization=" + authz
    algorithm, _, rest = authz.strip().partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise ApiError("IncompleteSignatureException",
                       "Unsupported AWS 'algorithm': '%s'; expected 'AWS4-HMAC-SHA256'.%s"
                       % (algorithm, echo))
    params = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise ApiError("IncompleteSignatureException",
                           "'%s' not a valid key=value pair (missing equal-sign) in "
                           "Authorization header: '%s'" % (part, authz))
        params[key.strip()] = value.strip()
    missing = [p for p in ("Credential", "Signature", "SignedHeaders") if not params.get(p)]
    if missing:
        raise ApiError("IncompleteSignatureException",
                       "".join("Authorization header requires '%s' parameter. " % p
                               for p in missing) + echo.strip())
    credential = params["Credential"]
    scope = credential.split("/")
    if len(scope) != 5:
        raise ApiError("IncompleteSignatureException",
                       "Credential must have exactly 5 slash-delimited elements, e.g. "
                       "keyid/date/region/service/term, got '%s'" % credential)
    akid, scope_date, scope_region, scope_service, terminator = scope
    if terminator != "aws4_request":
        raise ApiError("IncompleteSignatureException",
                       "Credential should be scoped with a valid terminator: 'aws4_request', "
                       "not '%s'." % terminator)
    if not re.fullmatch(r"\d{8}", scope_date):
        raise ApiError("IncompleteSignatureException",
                       "Credential date must be in YYYYMMDD format, got '%s'." % scope_date)
    signature = params["Signature"]
    if not _SIG_RE.match(signature):
        raise ApiError("IncompleteSignatureException",
                       "Signature must be 64 lowercase hexadecimal characters.%s" % echo)
    signed = params["SignedHeaders"].split(";")
    if not all(_HEADER_NAME_RE.match(h) for h in signed):
        raise ApiError("IncompleteSignatureException",
                       "SignedHeaders must be a ';'-separated list of lowercase header names, "
                       "got '%s'.%s" % (params["SignedHeaders"], echo))

    # 3. access key
    cred = CREDENTIALS.get(akid)
    if cred is None:
        raise ApiError("UnrecognizedClientException", MSG_BAD_TOKEN)
    secret, want_token, behaviour = cred

    # 4. scope
    if scope_service != SERVICE:
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to correct service: '%s'. " % SERVICE)
    if scope_region != region:
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to a valid region. ")

    # 5. date
    amz_date = headers.get("X-Amz-Date")
    if amz_date is None:
        raise ApiError("IncompleteSignatureException",
                       "Authorization header requires existence of a 'X-Amz-Date' header "
                       "(this stand-in does not accept 'Date')." + echo)
    try:
        if not _AMZ_DATE_RE.match(amz_date):
            raise ValueError
        d = amz_date
        when = datetime.datetime(int(d[0:4]), int(d[4:6]), int(d[6:8]),
                                 int(d[9:11]), int(d[11:13]), int(d[13:15]))
    except ValueError:
        raise ApiError("IncompleteSignatureException",
                       "Date must be in ISO-8601 'basic format'. Got '%s'. "
                       "See http://en.wikipedia.org/wiki/ISO_8601" % amz_date)
    if amz_date[:8] != scope_date:
        raise ApiError("InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                       "of date from HTTP: '%s' != '%s', from '%s'."
                       % (scope_date, amz_date[:8], amz_date))
    now = (datetime.datetime.utcnow()
           + datetime.timedelta(seconds=STATE.clock_skew)).replace(microsecond=0)
    if when < now - MAX_SKEW:
        raise ApiError("InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - 15 min.)"
                       % (amz_date, (now - MAX_SKEW).strftime(_SIGV4_FMT),
                          now.strftime(_SIGV4_FMT)))
    if when > now + MAX_SKEW:
        raise ApiError("InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s (%s + 15 min.)"
                       % (amz_date, (now + MAX_SKEW).strftime(_SIGV4_FMT),
                          now.strftime(_SIGV4_FMT)))

    # 6. signed headers and session token
    if signed != sorted(set(signed)):
        raise ApiError("InvalidSignatureException",
                       "SignedHeaders must be sorted and free of duplicates, got '%s'."
                       % params["SignedHeaders"])
    token = headers.get("X-Amz-Security-Token")
    required = [("host", "'Host' or ':authority'"), ("x-amz-date", "'X-Amz-Date'")]
    if body:
        required.append(("content-type", "'Content-Type'"))
    if token is not None:
        required.append(("x-amz-security-token", "'X-Amz-Security-Token'"))
    for name, label in required:
        if name not in signed:
            raise ApiError("InvalidSignatureException",
                           "%s must be a 'SignedHeader' in the AWS Authorization." % label)
    present = {k.lower() for k in headers.keys()}
    for name in signed:
        if name not in present:
            raise ApiError("InvalidSignatureException",
                           "Header '%s' is listed in SignedHeaders but is not present in the "
                           "request." % name)
    if want_token is None:
        if token is not None:
            raise ApiError("UnrecognizedClientException", MSG_BAD_TOKEN)
    elif token is None or not hmac.compare_digest(token.encode(), want_token.encode()):
        raise ApiError("UnrecognizedClientException", MSG_BAD_TOKEN)
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
        raise ApiError("InvalidSignatureException",
                       "The provided 'x-amz-content-sha256' header does not match what was "
                       "computed.")

    # 7. signature, recomputed by botocore
    signed_set = set(signed)
    pairs = [(k, v) for k, v in headers.items() if k.lower() in signed_set]
    expected = botocore_signature(method, scheme, headers.get("Host", ""), raw_path, pairs, body,
                                  akid, secret, want_token, region, amz_date)
    if not hmac.compare_digest(expected, signature):
        raise ApiError("InvalidSignatureException", MSG_BAD_SIGNATURE)

    # valid signature: per-key behaviour
    if behaviour == "expired":
        raise ApiError("ExpiredTokenException",
                       "The security token included in the request is expired")
    if behaviour == "denied":
        raise ApiError("AccessDeniedException",
                       "User: arn:aws:iam::123456789012:user/denied is not authorized to "
                       "perform: social-messaging:SendWhatsAppMessage")
    return akid, signed


# ---------------------------------------------------------------------------------------------
# Injection rules and shared state

_RULE_KEYS = {"status", "code", "message", "form", "count", "delay_ms", "action", "phase",
              "headers", "every", "length", "size", "body"}
_ACTIONS = {"close", "reset", "garbage", "empty200", "truncated", "bad_length", "hang", "oversize", "reply"}
_REPLY_ACTIONS = ("garbage", "empty200", "truncated", "bad_length", "oversize", "reply")  # phase "after"
HANG_LIMIT = 120  # seconds a "hang" holds a connection at most
_FORMS = {"header", "header-bare", "body-type", "body-code"}


def parse_rule(obj):
    if not isinstance(obj, dict):
        raise ValueError("each rule must be a JSON object")
    unknown = set(obj) - _RULE_KEYS
    if unknown:
        raise ValueError("unknown rule keys: %s" % ", ".join(sorted(unknown)))
    rule = {}
    count = obj.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("count must be an integer >= 1")
    rule["count"] = count
    every = obj.get("every")
    if every is not None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError("every must be an integer >= 1")
        if "count" in obj:
            raise ValueError("a rule has either count or every, not both")
        rule["every"], rule["seen"] = every, 0
    delay = obj.get("delay_ms", 0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
        raise ValueError("delay_ms must be a number >= 0")
    rule["delay"] = delay / 1000.0
    action = obj.get("action")
    is_error = "code" in obj or "status" in obj
    if action is not None and action not in _ACTIONS:
        raise ValueError("action must be one of %s" % ", ".join(sorted(_ACTIONS)))
    if action is not None and is_error:
        raise ValueError("a rule is either an error (status/code) or an action, not both")
    if is_error:
        status = obj.get("status")
        code = obj.get("code")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        if code is not None and (not isinstance(code, str) or not code):
            raise ValueError("code must be a non-empty string")
        if code is None:
            code = STATUS_DEFAULT_CODE.get(status, "InternalServiceException")
        if status is None:
            status = ERROR_STATUS.get(code, 400)
        form = obj.get("form", "header")
        if form not in _FORMS:
            raise ValueError("form must be one of %s" % ", ".join(sorted(_FORMS)))
        message = obj.get("message", "Injected %s" % code)
        if message is not None and not isinstance(message, str):
            raise ValueError("message must be a string or null")
        rule.update(kind="error", status=status, code=code, form=form, message=message)
    elif action is not None:
        rule.update(kind=action)
    else:
        rule.update(kind="delay")
    if "length" in obj:
        length = obj["length"]
        if action != "bad_length" or not isinstance(length, str) or any(c in length for c in "\r\n"):
            raise ValueError("length is a Content-Length value (a string without CR or LF) "
                             "for the bad_length action")
        rule["length"] = length
    if "size" in obj:
        size = obj["size"]
        if action != "oversize" or not isinstance(size, int) or isinstance(size, bool) \
                or not 0 <= size <= 64 * 1024 * 1024:
            raise ValueError("size is a body size in bytes (at most 64 MiB) for the oversize action")
        rule["size"] = size
    if "body" in obj or action == "reply":
        body = obj.get("body")
        if action != "reply" or not isinstance(body, str):
            raise ValueError("body is the answer's text (a string) for the reply action, which needs it")
        rule["body"] = body.encode("utf-8", "surrogatepass")
    default_phase = "after" if rule["kind"] in _REPLY_ACTIONS else "before"
    phase = obj.get("phase", default_phase)
    if phase not in ("before", "after"):
        raise ValueError("phase must be 'before' or 'after'")
    if rule["kind"] == "delay" and "phase" in obj:
        raise ValueError("phase has no meaning for a delay-only rule")
    rule["phase"] = phase
    extra = obj.get("headers", {})
    if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise ValueError("headers must be an object of string values")
    if any(c in k + v for k, v in extra.items() for c in "\r\n"):
        raise ValueError("header names/values must not contain CR or LF")
    rule["headers"] = list(extra.items())
    return rule


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.conn_serial = 0  # never reset, so serials stay unique across resets
        self.reset()

    def reset(self):
        with self.lock:
            self.records = []
            self.rules = []
            self.periodic = []
            self.clock_skew = 0
            self.requests = 0
            self.accepted = 0
            self.connections = {"http": 0, "https": 0}

    def new_connection(self, scheme):
        with self.lock:
            self.conn_serial += 1
            self.connections[scheme] += 1
            return self.conn_serial

    def count_request(self):
        with self.lock:
            self.requests += 1

    def take_rule(self):
        with self.lock:
            if not self.rules:
                # periodic rules: each counts every request; the first due one fires
                fired = None
                for r in self.periodic:
                    r["seen"] += 1
                    if fired is None and r["seen"] % r["every"] == 0:
                        fired = r
                return fired
            rule = self.rules[0]
            rule["count"] -= 1
            if rule["count"] <= 0:
                self.rules.pop(0)
            return rule

    def add_rules(self, rules):
        with self.lock:
            self.rules.extend(r for r in rules if "every" not in r)
            self.periodic.extend(r for r in rules if "every" in r)
            return len(self.rules) + len(self.periodic)

    def record(self, rec):
        with self.lock:
            self.records.append(rec)
            self.accepted += 1

    def snapshot_messages(self):
        with self.lock:
            return list(self.records)

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "accepted": self.accepted,
                    "connections": dict(self.connections),
                    "pending_rules": sum(r["count"] for r in self.rules),
                    "periodic_rules": len(self.periodic)}


STATE = State()
REGION = "us-east-1"

# ---------------------------------------------------------------------------------------------
# HTTP

_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_date_cache = [0, ""]


def http_date():
    now = int(time.time()) + STATE.clock_skew
    if _date_cache[0] != now:
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
        _date_cache[0] = now
    return _date_cache[1]


class _Drop(Exception):
    """Connection is unusable (bad framing, client gone): close without answering."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin"
    sys_version = ""

    def log_message(self, format, *args):  # no per-request logging
        pass

    # -- connection lifecycle
    def setup(self):
        sock = self.request
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.scheme = self.server.scheme
        self.conn_id = STATE.new_connection(self.scheme)
        if self.server.ssl_context is not None:
            sock.settimeout(HANDSHAKE_TIMEOUT)
            self.request = self.server.ssl_context.wrap_socket(sock, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.server.ssl_context is not None:  # the server only knows the detached plain socket
            try:
                self.request.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.request.close()

    def parse_request(self):
        # when the request line was read: a record's received_at, before the
        # body is read and the signature checked (a rate is judged by it)
        self.arrived_at = time.time()
        return super().parse_request()

    # -- methods
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- plumbing
    def _send(self, status, body, headers=(), content_type="application/json"):
        lines = ["HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Status")),
                 "Date: %s\r\n" % http_date()]
        if content_type:
            lines.append("Content-Type: %s\r\n" % content_type)
        for k, v in headers:
            lines.append("%s: %s\r\n" % (k, v))
        lines.append("Content-Length: %d\r\n" % len(body))
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        self.wfile.write("".join(lines).encode("latin-1") + body)

    def _send_raw(self, status, body, headers, length):
        """An answer whose Content-Length is the given text, whatever the body."""
        lines = ["HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Status")),
                 "Date: %s\r\n" % http_date(), "Content-Type: application/json\r\n"]
        lines.extend("%s: %s\r\n" % (k, v) for k, v in headers)
        lines.append("Content-Length: %s\r\n\r\n" % length)
        self.wfile.write("".join(lines).encode("latin-1") + body)
        self.wfile.flush()

    def _send_json(self, status, obj):
        self._send(status, json.dumps(obj).encode())

    def _send_error(self, err, request_id=None):
        headers, body = error_payload(err.code, err.message, err.form)
        extra = list(err.extra_headers)
        # a rule's own x-amzn-RequestId replaces the stand-in's
        if not any(k.lower() == "x-amzn-requestid" for k, _ in extra):
            headers.append(("x-amzn-RequestId", request_id or str(uuid.uuid4())))
        headers.extend(extra)
        self._send(err.status, body, headers)

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                self.close_connection = True
                raise ApiError("SerializationException",
                               "Unsupported Transfer-Encoding: %s" % te)
            return self._read_chunked()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise ApiError("SerializationException", "Invalid Content-Length: %s" % cl)
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError("RequestEntityTooLargeException",
                           "Request body of %d bytes exceeds %d bytes" % (n, MAX_BODY))
        body = self.rfile.read(n)
        if len(body) != n:
            raise _Drop()
        return body

    def _read_chunked(self):
        parts = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise _Drop()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Drop()
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise ApiError("RequestEntityTooLargeException",
                               "Request body exceeds %d bytes" % MAX_BODY)
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Drop()
            parts.append(data)
        while True:  # trailers
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    def _dispatch(self):
        request_id = str(uuid.uuid4())
        try:
            path, _, query = self.path.partition("?")
            if path.startswith("/_standin/"):
                self._control(path)
                return
            body = self._read_body()
            if not path.startswith("/v1/"):
                raise ApiError("UnknownOperationException",
                               "No operation matches %s %s" % (self.command, path))
            STATE.count_request()
            self._api(path, query, body, request_id)
        except _Drop:
            self.close_connection = True
        except ApiError as e:
            self._send_error(e, request_id)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            self.close_connection = True
            self._send_error(ApiError("InternalFailure",
                                      "The request processing has failed because of an "
                                      "unknown error, exception or failure.", status=500),
                             request_id)

    def _api(self, path, query, body, request_id):
        akid, signed = authenticate(self.command, self.path, self.headers, body, self.scheme,
                                    REGION)
        rule = STATE.take_rule()
        if rule is not None and rule["delay"]:
            time.sleep(rule["delay"])
        if rule is not None and rule["phase"] == "before" and rule["kind"] != "delay":
            self._apply_rule(rule, request_id)
            return

        methods = ROUTES.get(path)
        if methods is None:
            raise ApiError("UnknownOperationException",
                           "No operation matches %s %s" % (self.command, path))
        op = methods.get(self.command)
        if op is None:
            raise ApiError("UnknownOperationException",
                           "%s %s: method not allowed (expected %s)"
                           % (self.command, path, "/".join(sorted(methods))), status=405,
                           extra_headers=[("Allow", ", ".join(sorted(methods)))])
        body_obj = {}
        if op.has_body and body:
            ctype = self.headers.get("Content-Type")
            if ctype is None or ctype.split(";", 1)[0].strip().lower() != "application/json":
                raise ApiError("UnsupportedMediaTypeException",
                               "Content-Type must be application/json, got %s"
                               % ("none" if ctype is None else "'%s'" % ctype))
            try:
                body_obj = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
            except (UnicodeDecodeError, ValueError) as e:
                raise ApiError("SerializationException",
                               "Could not parse the request body as JSON: %s" % e)
            if not isinstance(body_obj, dict):
                raise ApiError("SerializationException",
                               "The request body must be a JSON object, got a JSON %s"
                               % _json_type(body_obj))
        qs = botocore.compat.parse_qs(query, keep_blank_values=True) if query else {}
        values = validate_input(op, body_obj, qs)
        output, fields = op.handler(self, values)
        if fields is not None:
            hdrs = {}
            for k, v in self.headers.items():
                k = k.lower()
                hdrs[k] = hdrs[k] + "," + v if k in hdrs else v
            rec = {"operation": op.name, "request_id": request_id}
            rec.update(fields)
            rec.update({
                "body": body.decode("utf-8", "replace"),
                "headers": hdrs,
                "signed_headers": signed,
                "access_key_id": akid,
                "scheme": self.scheme,
                "connection": self.conn_id,
                "received_at": self.arrived_at,
            })
            if rule is not None and rule["kind"] != "delay":
                rec["injected"] = rule["kind"]
            STATE.record(rec)
        if rule is not None and rule["phase"] == "after" and rule["kind"] != "delay":
            self._apply_rule(rule, request_id)
            return
        self._send(200, json.dumps(output).encode(), [("x-amzn-RequestId", request_id)])

    def _apply_rule(self, rule, request_id):
        kind = rule["kind"]
        extra = rule["headers"]
        if kind == "error":
            self._send_error(ApiError(rule["code"], rule["message"], status=rule["status"],
                                      form=rule["form"], extra_headers=extra), request_id)
        elif kind == "close":
            self.close_connection = True
        elif kind == "reset":
            self.close_connection = True
            try:
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                self.request.close()
            except OSError:
                pass
        elif kind == "garbage":
            self._send(200, b"<html>this is not JSON {", [("x-amzn-RequestId", request_id)]
                       + extra)
        elif kind == "reply":
            own = [] if any(k.lower() == "x-amzn-requestid" for k, _ in extra) \
                else [("x-amzn-RequestId", request_id)]
            self._send(200, rule["body"], own + extra)
        elif kind == "empty200":
            self._send(200, b"{}", [("x-amzn-RequestId", request_id)] + extra)
        elif kind == "truncated":
            # Content-Length promises the whole answer; half of it comes, then FIN
            body = json.dumps({"messageId": str(uuid.uuid4())}).encode()
            self._send_raw(200, body[:len(body) // 2], [("x-amzn-RequestId", request_id)] + extra,
                           length=str(len(body)))
            self.close_connection = True
        elif kind == "bad_length":
            # the whole answer, under the Content-Length the rule gives; the connection
            # stays open, so a length past the body leaves the client waiting
            body = json.dumps({"messageId": str(uuid.uuid4())}).encode()
            self._send_raw(200, body, [("x-amzn-RequestId", request_id)] + extra,
                           length=rule.get("length", "12abc"))
        elif kind == "hang":
            # never answers: reads until the client gives up and closes (or HANG_LIMIT)
            self.close_connection = True
            try:
                self.request.settimeout(HANG_LIMIT)
                while self.request.recv(65536):
                    pass
            except OSError:
                pass
        elif kind == "oversize":
            # valid JSON with a messageId, padded to the rule's size (default 5 MiB)
            size = rule.get("size", 5 * 1024 * 1024)
            head = b'{"messageId":"' + str(uuid.uuid4()).encode() + b'","pad":"'
            body = head + b"a" * max(0, size - len(head) - 2) + b'"}'
            self._send(200, body, [("x-amzn-RequestId", request_id)] + extra)

    # -- control API
    def _control(self, path):
        body = self._read_body()
        cmd = self.command
        if path == "/_standin/reset" and cmd == "POST":
            STATE.reset()
            self._send_json(200, {"ok": True})
        elif path == "/_standin/messages" and cmd == "GET":
            self._send_json(200, {"messages": STATE.snapshot_messages()})
        elif path == "/_standin/clock" and cmd == "POST":
            try:
                obj = json.loads(body.decode("utf-8") or "null")
                skew = obj["skew_seconds"]
                if not isinstance(skew, int) or isinstance(skew, bool) or abs(skew) > 3660 * 86400:
                    raise ValueError("skew_seconds must be an integer of at most ten years")
            except (UnicodeDecodeError, ValueError, TypeError, KeyError) as e:
                self._send_json(400, {"error": "bad clock request: %s" % e})
                return
            STATE.clock_skew = skew
            self._send_json(200, {"ok": True, "skew_seconds": skew})
        elif path == "/_standin/stats" and cmd == "GET":
            self._send_json(200, STATE.stats())
        elif path == "/_standin/inject" and cmd == "POST":
            try:
                obj = json.loads(body.decode("utf-8") or "null")
                rules = [parse_rule(r) for r in (obj if isinstance(obj, list) else [obj])]
            except (UnicodeDecodeError, ValueError) as e:
                self._send_json(400, {"error": "bad inject request: %s" % e})
                return
            pending = STATE.add_rules(rules)
            self._send_json(200, {"ok": True, "queued": len(rules), "rules_pending": pending})
        else:
            self._send_json(404, {"error": "unknown control endpoint %s %s" % (cmd, path)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, scheme, ssl_context=None):
        self.scheme = scheme
        self.ssl_context = ssl_context
        super().__init__(addr, Handler)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), i.e. a name lookup; not wanted here
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # TLS handshake failures, resets, broken pipes: expected
            return
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()


class Server6(Server):
    address_family = socket.AF_INET6


def make_ssl_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def write_ready_file(path, info):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(info, f)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    global REGION
    ap = argparse.ArgumentParser(description="AWS End User Messaging Social stand-in")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--https-port", type=int, default=None)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--lifetime", type=float, default=3600.0,
                    help="exit after this many seconds (0 = no limit)")
    args = ap.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    if args.https_port is not None and not args.cert:
        ap.error("--https-port needs --cert and --key")
    REGION = args.region

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    cls = Server6 if ":" in args.host else Server
    servers = [cls((args.host, args.http_port), "http")]
    if args.cert:
        ctx = make_ssl_context(args.cert, args.key)
        servers.append(cls((args.host, args.https_port or 0), "https", ctx))
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    info = {"http_port": servers[0].server_port,
            "https_port": servers[1].server_port if len(servers) > 1 else None,
            "pid": os.getpid()}
    write_ready_file(args.ready_file, info)

    stop.wait(args.lifetime if args.lifetime > 0 else None)
    for s in servers:
        s.shutdown()
        s.server_close()
    try:  # remove the ready file unless someone else replaced it meanwhile
        with open(args.ready_file) as f:
            if json.load(f).get("pid") == os.getpid():
                os.unlink(args.ready_file)
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
