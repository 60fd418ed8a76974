// The peer of make bench: the official AWS SDK for JavaScript v3 client
// (@aws-sdk/client-socialmessaging, pinned in bench/package.json) doing
// what bench/module.lua does, on the same endpoint:
//   node peer_sdk.mjs seq URL N [CA]             N sequential sends, one at a time
//   node peer_sdk.mjs batch URL N INFLIGHT [CA]  N sends, INFLIGHT in flight (keep-alive agent)
//   node peer_sdk.mjs big REPS                   build and sign a 2,000,000-byte message
//                                                (a handler answering at once stands in for the network)
// Prints "n=<count> wall=<s> cpu=<s>" (cpu: process.cpuUsage, user+system).
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { SendWhatsAppMessageCommand, SocialMessagingClient } from "@aws-sdk/client-socialmessaging";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const PHONE = "phone-number-id-0123456789abcdef0123456789abcdef";
const credentials = { accessKeyId: "AKIDSTANDINEXAMPLE", secretAccessKey: "standin/Secret+Key/0123456789EXAMPLEKEY" };
const [mode, ...args] = process.argv.slice(2);

function makeClient(url, inflight, ca, requestHandler) {
  const agent = { keepAlive: true, maxSockets: inflight };
  return new SocialMessagingClient({
    region: "us-east-1",
    endpoint: url,
    credentials,
    maxAttempts: 1,
    requestHandler: requestHandler || new NodeHttpHandler({
      httpAgent: new http.Agent(agent),
      httpsAgent: new https.Agent({ ...agent, ca: ca ? fs.readFileSync(ca) : undefined }),
    }),
  });
}

function command(body) {
  const message = { messaging_product: "whatsapp", to: "+14255550123", type: "text", text: { body } };
  return new SendWhatsAppMessageCommand({
    originationPhoneNumberId: PHONE,
    metaApiVersion: "v20.0",
    message: Buffer.from(JSON.stringify(message)),
  });
}

async function sendOne(client, body) {
  const out = await client.send(command(body));
  if (typeof out.messageId !== "string") throw new Error("no messageId");
}

function measure() {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  return (n) => {
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    console.log(`n=${n} wall=${wall.toFixed(6)} cpu=${((c.user + c.system) / 1e6).toFixed(6)}`);
  };
}

if (mode === "seq") {
  const [url, n, ca] = [args[0], Number(args[1]), args[2]];
  const client = makeClient(url, 1, ca);
  await sendOne(client, "warm up");
  const done = measure();
  for (let i = 0; i < n; i++) await sendOne(client, "benchmark");
  done(n);
} else if (mode === "batch") {
  const [url, n, inflight, ca] = [args[0], Number(args[1]), Number(args[2]), args[3]];
  const client = makeClient(url, inflight, ca);
  await Promise.all(Array.from({ length: inflight }, () => sendOne(client, "warm up")));
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await sendOne(client, "benchmark");
    }
  };
  const done = measure();
  await Promise.all(Array.from({ length: inflight }, worker));
  done(n);
} else if (mode === "big") {
  const reps = Number(args[0]);
  const head = '{"messaging_product":"whatsapp","text":{"body":"';
  const tail = '"},"to":"+14255550123","type":"text"}';
  const unit = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. ";
  const len = 2000000 - head.length - tail.length;
  const body = unit.repeat(Math.ceil(len / unit.length)).slice(0, len);
  const answer = Buffer.from('{"messageId":"4d9a2c1e-7b3f-4e5a-8c6d-1f2e3d4c5b6a"}');
  const instant = {
    handle: async () => ({
      response: {
        statusCode: 200,
        reason: "OK",
        headers: { "content-type": "application/json", "content-length": String(answer.length) },
        body: Readable.from([answer]),
      },
    }),
  };
  const client = makeClient("http://127.0.0.1:9", 1, undefined, instant);
  if (Buffer.from(JSON.stringify({ messaging_product: "whatsapp", text: { body }, to: "+14255550123", type: "text" })).length !== 2000000) {
    throw new Error("the message is not 2,000,000 bytes");
  }
  await sendOne(client, body);
  const done = measure();
  for (let i = 0; i < reps; i++) await sendOne(client, body);
  done(reps);
} else {
  console.error("usage: peer_sdk.mjs seq URL N [CA] | batch URL N INFLIGHT [CA] | big REPS");
  process.exit(2);
}
