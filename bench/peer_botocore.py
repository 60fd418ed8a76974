#!/usr/bin/python3
"""The peer for bench/standin.sh: the same N sequential sends, signed by
botocore (Debian's python3-botocore) and posted over one keep-alive
http.client connection. Prints sends/s and client CPU per send."""
import base64, http.client, json, os, sys, time
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
url = urlparse(os.environ["WA_STANDIN_HTTP"])
creds = Credentials("AKIDSTANDINEXAMPLE", "standin/Secret+Key/0123456789EXAMPLEKEY")
conn = http.client.HTTPConnection(url.hostname, url.port)
msg = {"messaging_product": "whatsapp", "to": "+14255550123", "type": "text", "text": {"body": "benchmark"}}


def send():
    body = json.dumps({
        "message": base64.b64encode(json.dumps(msg).encode()).decode(),
        "metaApiVersion": "v20.0",
        "originationPhoneNumberId": "phone-number-id-0123456789abcdef0123456789abcdef",
    })
    req = AWSRequest("POST", f"http://{url.netloc}/v1/whatsapp/send", data=body,
                     headers={"Content-Type": "application/json"})
    SigV4Auth(creds, "social-messaging", "us-east-1").add_auth(req)
    conn.request("POST", "/v1/whatsapp/send", body=body, headers=dict(req.headers.items()))
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise SystemExit(f"send failed: {resp.status} {data!r}")


send()
cpu, t0 = time.process_time(), time.perf_counter()
for _ in range(n):
    send()
elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu
print(f"botocore peer: {n} sends in {elapsed:.2f} s = {n / elapsed:.0f} sends/s, "
      f"{cpu / n * 1e6:.0f} us client CPU per send")
