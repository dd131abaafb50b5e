// --mesh-identity on a real `hfi server` process (2 workers: gRPC and the raw
// StreamConfig path run in the workers, REST in the primary). Calls come
// over real loopback connections from 127.0.0.6 (the source address of
// Istio's inbound sidecar traffic) carrying x-forwarded-client-cert as the
// sidecar writes it, or from 127.0.0.1, whose header must be ignored.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { methodDefinition } from "../../server/grpc/methods.ts";
import { rawCall } from "../support/raw-grpc.ts";
import { spawnServer, type ServerProcess } from "../support/server-process.ts";
import { PolicyClient } from "../support/server.ts";

const SIDECAR = "127.0.0.6";
const xfcc = (...uris: string[]) =>
  uris.map((u) => `By=spiffe://cluster.local/ns/boifi/sa/hfi-control-plane;Hash=abc;Subject="";URI=${u}`).join(",");
const DEMO = "spiffe://cluster.local/ns/demo/sa/frontend";
const ADMIN = "spiffe://cluster.local/ns/boifi/sa/hfi-admin";
const TOKEN = "api-t0ken";

const streamDef = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig");
const applyDef = methodDefinition("hfi.v1.PolicyService", "ApplyPolicy");
const subscribe = (identity: object) => streamDef.requestSerialize({ subscribe: { identity } });
const decodeSnapshot = (b: Buffer) => streamDef.responseDeserialize(b) as { policies: { name: string }[] };

let server: ServerProcess;
let dir: string;

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-mesh-"));
  server = await spawnServer(
    ["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dir, "--workers", "2", "--mesh-identity", "--mesh-admin-principals", ADMIN],
    { HFI_API_TOKEN: TOKEN },
  );
  const admin = new PolicyClient(server.grpcAddress, TOKEN);
  await admin.apply({ policy: { metadata: { name: "payments-abort" }, spec: { selector: { service: "payments", namespace: "pay" }, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] } } });
  await admin.apply({ policy: { metadata: { name: "frontend-delay" }, spec: { selector: { service: "frontend", namespace: "demo" }, rules: [{ fault: { percentage: 100, delay: { fixedDelayMs: 5 } } }] } } });
  admin.close();
});

test.after(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const stream = (identity: object, headers: Record<string, string>, localAddress = SIDECAR) =>
  rawCall(server.grpcAddress, streamDef.path, subscribe(identity), { headers, localAddress, keepOpen: true, untilMessages: 1 });

test("a stream whose claim matches the sidecar's SPIFFE ID gets its snapshot", async () => {
  const r = await stream({ service: "frontend", namespace: "demo", serviceAccount: "frontend", proxyId: "p1" }, { "x-forwarded-client-cert": xfcc(DEMO) });
  assert.is(r.messages.length, 1, `${r.code} ${r.message}`);
  assert.equal(decodeSnapshot(r.messages[0]!).policies.map((p) => p.name), ["frontend-delay"]);
});

test("claiming another namespace or service account is PERMISSION_DENIED naming both", async () => {
  const ns = await stream({ service: "payments", namespace: "pay", proxyId: "p2" }, { "x-forwarded-client-cert": xfcc(DEMO) });
  assert.is(ns.code, grpc.status.PERMISSION_DENIED);
  assert.is(ns.messages.length, 0, "no rules of payments");
  assert.match(ns.message, /identity claim namespace "pay" does not match the caller's mesh identity spiffe:\/\/cluster\.local\/ns\/demo\/sa\/frontend \(namespace "demo"\)/);
  const sa = await stream({ service: "frontend", namespace: "demo", serviceAccount: "payments", proxyId: "p3" }, { "x-forwarded-client-cert": xfcc(DEMO) });
  assert.is(sa.code, grpc.status.PERMISSION_DENIED);
  assert.match(sa.message, /service account "payments" does not match .* \(service account "frontend"\)/);
});

test("only the last XFCC element (the sidecar's) counts; a header from anyone but the sidecar is ignored", async () => {
  // A caller that sends its own XFCC: APPEND_FORWARD keeps it in front of the sidecar's element.
  const forged = await stream({ service: "payments", namespace: "pay", proxyId: "p4" }, { "x-forwarded-client-cert": xfcc("spiffe://cluster.local/ns/pay/sa/payments", DEMO) });
  assert.is(forged.code, grpc.status.PERMISSION_DENIED, forged.message);
  const direct = await stream({ service: "payments", namespace: "pay", proxyId: "p5" }, { "x-forwarded-client-cert": xfcc("spiffe://cluster.local/ns/pay/sa/payments") }, "127.0.0.1");
  assert.is(direct.code, grpc.status.UNAUTHENTICATED);
  assert.match(direct.message, /not from a trusted proxy \(--mesh-trusted-proxies 127\.0\.0\.6\)/);
  const none = await stream({ service: "frontend", namespace: "demo", proxyId: "p6" }, {});
  assert.is(none.code, grpc.status.UNAUTHENTICATED);
});

test("management: admin principal or API token; another mesh identity is PERMISSION_DENIED (gRPC, old REST, Connect)", async () => {
  const req = applyDef.requestSerialize({ policy: { metadata: { name: "by-admin" }, spec: { rules: [{ fault: { percentage: 1, abort: { httpStatus: 503 } } }] } } });
  const ok = await rawCall(server.grpcAddress, applyDef.path, req, { headers: { "x-forwarded-client-cert": xfcc(ADMIN) }, localAddress: SIDECAR });
  assert.is(ok.code, grpc.status.OK, ok.message);
  const other = await rawCall(server.grpcAddress, applyDef.path, req, { headers: { "x-forwarded-client-cert": xfcc(DEMO) }, localAddress: SIDECAR });
  assert.is(other.code, grpc.status.PERMISSION_DENIED);
  assert.match(other.message, /mesh identity spiffe:\/\/cluster\.local\/ns\/demo\/sa\/frontend may not manage policies/);
  const forged = await rawCall(server.grpcAddress, applyDef.path, req, { headers: { "x-forwarded-client-cert": xfcc(ADMIN) }, localAddress: "127.0.0.1" });
  assert.is(forged.code, grpc.status.UNAUTHENTICATED);
  const token = await rawCall(server.grpcAddress, applyDef.path, req, { headers: { authorization: `Bearer ${TOKEN}` }, localAddress: "127.0.0.1" });
  assert.is(token.code, grpc.status.OK, token.message);

  // REST, served by the primary: a real connection from 127.0.0.6.
  const rest = (headers: Record<string, string>, localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const [host, port] = server.httpAddress.split(":");
        const r = request({ host, port: Number(port), path: "/v1/policies", localAddress, headers }, (res) => (res.resume(), resolve(res.statusCode!)));
        r.on("error", reject);
        r.end();
      });
    });
  assert.is(await rest({ "x-forwarded-client-cert": xfcc(ADMIN) }, SIDECAR), 200);
  assert.is(await rest({ "x-forwarded-client-cert": xfcc(DEMO) }, SIDECAR), 403);
  assert.is(await rest({ "x-forwarded-client-cert": xfcc(ADMIN) }, "127.0.0.1"), 401);

  // Connect JSON on the HTTP port: the same check as gRPC.
  const connect = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const [host, port] = server.httpAddress.split(":");
        const r = request(
          { host, port: Number(port), method: "POST", path: "/hfi.v1.PolicyService/ListPolicies", localAddress: SIDECAR, headers: { ...headers, "content-type": "application/json" } },
          (res) => (res.resume(), resolve(res.statusCode!)),
        );
        r.on("error", reject);
        r.end("{}");
      });
    });
  assert.is(await connect({ "x-forwarded-client-cert": xfcc(ADMIN) }), 200);
  assert.is(await connect({ "x-forwarded-client-cert": xfcc(DEMO) }), 403);
});

test.run();
