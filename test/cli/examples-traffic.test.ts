// The example policies do what cli/examples/README.md says: each is applied
// with `hfi policy apply` and traffic goes through real sidecars (the
// compiled filter in the Node proxy-wasm host), one per workload the
// examples target. Latency checks are lower bounds only (an injected delay
// cannot be shorter); percentages are checked with wide binomial margins.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createPolicyClient, type PolicyClient } from "../../cli/client/index.ts";
import { startSidecar, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { defaultLogger } from "../../filter/host/logger.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { runHfi } from "./run.ts";

const WORKLOADS = {
  payments: ["payments", "demo"],
  frontend: ["frontend", "demo"],
  reviews: ["reviews", "default"],
  checkout: ["checkout", "default"],
  inventory: ["inventory", "default"],
  search: ["search", "default"],
  api: ["api", "prod"],
  web: ["web", "staging"],
} as const;
type Workload = keyof typeof WORKLOADS;

let server: TestServer;
let client: PolicyClient;
let upstream: http.Server;
const sidecars = new Map<Workload, RunningSidecar>();
/** frontend's outbound side (`hfi sidecar --outbound`), calling productcatalog.demo:8080 (served by `catalog`). */
let frontendOut: RunningSidecar;
let catalog: http.Server;

interface Reply {
  status: number;
  body: string;
  ms: number;
}

async function send(w: Workload, path = "/api/items", init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`http://${sidecars.get(w)!.address}${path}`, init);
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - started };
}

const many = (n: number, f: () => Promise<Reply>) => Promise.all(Array.from({ length: n }, f));
const count = (rs: Reply[], status: number) => rs.filter((r) => r.status === status).length;

/** Applies an example with the CLI and waits until every targeted sidecar has ACKed it. */
async function apply(file: string): Promise<void> {
  const r = await runHfi(["policy", "apply", "-f", `cli/examples/${file}`], { env: { HFI_SERVER: server.grpcAddress } });
  assert.is(r.code, 0, r.stderr);
  await waitFor(async () => {
    const st = await client.getPolicyStatus();
    return st.policies.length > 0 && st.policies.every((p) => p.targetedProxies > 0 && p.acked.length === p.targetedProxies);
  }, `every targeted sidecar ACKs ${file}`);
}

/** Deletes everything and waits until every sidecar runs with no policy. */
async function reset(): Promise<void> {
  const r = await runHfi(["policy", "delete", "--all", "--yes"], { env: { HFI_SERVER: server.grpcAddress } });
  assert.is(r.code, 0, r.stderr);
  await waitFor(async () => {
    const st = await client.getPolicyStatus();
    return st.proxies.length === STREAMS_PER_SIDECAR * (sidecars.size + 1) && st.proxies.every((p) => p.policies.length === 0 && p.ackedVersion === p.sentVersion);
  }, "every sidecar back to no policy");
}

/** As in Envoy: a sidecar with one worker has two VMs (main thread + worker), each with its own stream. */
const STREAMS_PER_SIDECAR = 2;

test.before(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    // /api/fail: the upstream itself fails (response-rewrite.yaml rewrites only such answers).
    const status = req.url?.startsWith("/api/fail") ? 500 : 200;
    res.writeHead(status, { "content-type": "application/json", server: "upstream" }).end(JSON.stringify({ ok: status === 200, url: req.url }));
  });
  catalog = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" }).end("catalog");
  });
  await new Promise<void>((r) => catalog.listen(0, "127.0.0.1", () => r()));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  server = await startTestServer();
  client = createPolicyClient({ server: server.grpcAddress });
  const logger = defaultLogger("critical");
  for (const [w, [service, namespace]] of Object.entries(WORKLOADS)) {
    sidecars.set(
      w as Workload,
      await startSidecar({ listen: "127.0.0.1:0", upstream: upstreamUrl, controlPlane: server.grpcAddress, service, namespace, logger }),
    );
  }
  frontendOut = await startSidecar({
    listen: "127.0.0.1:0",
    outbound: true,
    destinations: [{ host: "productcatalog.demo.svc.cluster.local", port: 8080, url: `http://127.0.0.1:${(catalog.address() as AddressInfo).port}` }],
    controlPlane: server.grpcAddress,
    service: "frontend",
    namespace: "demo",
    logger,
  });
  await waitFor(async () => (await client.getPolicyStatus()).proxies.filter((p) => p.ackedVersion).length === STREAMS_PER_SIDECAR * (sidecars.size + 1), "all sidecars subscribed");
});

test.after(async () => {
  for (const s of sidecars.values()) await s.close();
  await frontendOut?.close();
  await new Promise((r) => catalog?.close(r));
  client?.close();
  await server?.close();
  await new Promise((r) => upstream?.close(r));
});

test.after.each(reset);

test("abort.yaml: payments in demo answers 503 with the body; other services untouched", async () => {
  await apply("abort.yaml");
  const r = await send("payments");
  assert.is(r.status, 503);
  assert.is(r.body, "fault injected by HFI");
  assert.is((await send("frontend")).status, 200);
});

test("delay.yaml: frontend waits at least 1.5 s, then succeeds", async () => {
  await apply("delay.yaml");
  const r = await send("frontend");
  assert.is(r.status, 200);
  assert.ok(r.ms >= 1500, `took ${r.ms} ms`);
});

test("percentage.yaml: about one request in four to reviews gets a 500", async () => {
  await apply("percentage.yaml");
  const rs: Reply[] = [];
  for (let i = 0; i < 10; i++) rs.push(...(await many(20, () => send("reviews"))));
  const failed = count(rs, 500);
  // 200 requests at 25 %: mean 50, sd 6.1; the bounds are ~5 sd away.
  assert.ok(failed >= 20 && failed <= 85, `${failed} of 200 aborted`);
  assert.is(failed + count(rs, 200), 200);
});

test("header-match.yaml: only requests with x-hfi-test: true are aborted", async () => {
  await apply("header-match.yaml");
  const hit = await send("checkout", "/cart", { headers: { "x-hfi-test": "true" } });
  assert.is(hit.status, 503);
  assert.is(hit.body, "checkout unavailable (HFI test)");
  assert.is((await send("checkout", "/cart", { headers: { "X-HFI-Test": "true" } })).status, 503, "header names case-insensitive");
  assert.is((await send("checkout", "/cart", { headers: { "x-hfi-test": "false" } })).status, 200);
  assert.is((await send("checkout", "/cart")).status, 200);
});

test("late-stage.yaml: half of inventory's requests wait 2 s, then get 504", async () => {
  await apply("late-stage.yaml");
  const rs = await many(20, () => send("inventory"));
  const late = rs.filter((r) => r.status === 504);
  assert.ok(late.length > 0 && late.length < 20, `${late.length} of 20 aborted`);
  assert.is(late.length + count(rs, 200), 20);
  for (const r of late) assert.ok(r.ms >= 2000, `504 after ${r.ms} ms`);
});

test("time-limited.yaml: search is delayed 800 ms and the policy expires 300 s after the apply", async () => {
  await apply("time-limited.yaml");
  const r = await send("search");
  assert.is(r.status, 200);
  assert.ok(r.ms >= 800, `took ${r.ms} ms`);
  const p = await client.getPolicy("search-delay-5m");
  assert.is(p.metadata!.expiresAtUnixMs - p.metadata!.updatedAtUnixMs, 300_000);
});

test("frontend-delay.yaml (shortest form): frontend in demo delayed 500 ms for some requests", async () => {
  await apply("frontend-delay.yaml");
  const rs = await many(20, () => send("frontend"));
  assert.is(count(rs, 200), 20);
  assert.ok(rs.some((r) => r.ms >= 500), "at least one of 20 delayed (50 %)");
});

test("api-abort.yaml: matched POST waits 1 s + 300 ms; versioned API paths aborted 20 %", async () => {
  await apply("api-abort.yaml");
  const post = await send("api", "/api/orders/42", { method: "POST", headers: { "x-user-group": "beta" } });
  assert.is(post.status, 200);
  assert.ok(post.ms >= 1300, `took ${post.ms} ms`);
  const other = await send("api", "/api/orders/42", { method: "POST", headers: { "x-user-group": "alpha" } });
  assert.is(other.status, 200, "header does not match, path not versioned");
  const rs: Reply[] = [];
  for (let i = 0; i < 10; i++) rs.push(...(await many(20, () => send("api", "/api/v2/items"))));
  const aborted = rs.filter((r) => r.status === 503);
  // 200 requests at 20 %: mean 40, sd 5.7.
  assert.ok(aborted.length >= 12 && aborted.length <= 70, `${aborted.length} of 200 aborted`);
  assert.ok(aborted.every((r) => r.body === "injected"));
  assert.is((await send("api", "/api/items")).status, 200, "unversioned path not matched");
});

test("service-targeted.yaml: /health delayed first, frontend and staging delayed, the rest ~10 % aborted", async () => {
  await apply("service-targeted.yaml");
  // health-check-delay (no selector, priority 100) comes first everywhere.
  for (const w of ["payments", "reviews", "web"] as const) {
    const r = await send(w, "/health");
    assert.is(r.status, 200);
    assert.ok(r.ms >= 100, `${w} /health took ${r.ms} ms`);
  }
  // staging-delay (priority 10) decides for web.staging: always delayed, never aborted.
  const staging = await many(20, () => send("web"));
  assert.is(count(staging, 200), 20);
  for (const r of staging) assert.ok(r.ms >= 200, `staging took ${r.ms} ms`);
  // demo-frontend-delay (priority 10) decides for frontend.demo: never aborted.
  const front = await many(20, () => send("frontend"));
  assert.is(count(front, 200), 20);
  assert.ok(front.some((r) => r.ms >= 500));
  // Everything else: global-abort, 10 %.
  const rs: Reply[] = [];
  for (let i = 0; i < 10; i++) rs.push(...(await many(20, () => send("reviews"))));
  const aborted = count(rs, 503);
  // 200 requests at 10 %: mean 20, sd 4.2.
  assert.ok(aborted >= 3 && aborted <= 45, `${aborted} of 200 aborted`);
});

/** frontend calling productcatalog through its outbound sidecar, as an app would (Host: productcatalog:8080). */
function callCatalog(): Promise<Reply> {
  const started = performance.now();
  const [host, port] = frontendOut.address.split(":");
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), path: "/products", headers: { host: "productcatalog:8080" } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body, ms: performance.now() - started }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("outbound-delay.yaml: about 30 % of frontend's calls to productcatalog wait 500 ms; frontend's own requests are untouched", async () => {
  await apply("outbound-delay.yaml");
  const rs = await many(60, callCatalog);
  assert.ok(rs.every((r) => r.status === 200 && r.body === "catalog"));
  const slow = rs.filter((r) => r.ms >= 500).length;
  // 60 calls at 30 %: mean 18, sd 3.5.
  assert.ok(slow >= 5 && slow <= 35, `${slow} of 60 delayed`);
  const inbound = await many(10, () => send("frontend"));
  assert.ok(inbound.every((r) => r.status === 200), "an outbound policy does not act on requests frontend receives");
});

test("response-rewrite.yaml: /checkout becomes 503 + x-injected + body; only failed /api answers become 502", async () => {
  await apply("response-rewrite.yaml");
  const res = await fetch(`http://${sidecars.get("frontend")!.address}/checkout/cart`);
  assert.is(res.status, 503);
  assert.is(res.headers.get("x-injected"), "1");
  assert.is(await res.text(), "injected");
  const ok = await fetch(`http://${sidecars.get("frontend")!.address}/api/items`);
  assert.is(ok.status, 200, "the upstream answered 200: untouched");
  assert.is(ok.headers.get("server"), "upstream");
  const failed = await fetch(`http://${sidecars.get("frontend")!.address}/api/fail`);
  assert.is(failed.status, 502);
  assert.is(failed.headers.get("server"), null, "server header removed");
  assert.equal(await failed.json(), { ok: false, url: "/api/fail" }, "no body given: the upstream's is kept");
  const dl = await fetch(`http://${sidecars.get("frontend")!.address}/downloads/a`);
  assert.equal(await dl.json(), { ok: true, url: "/downloads/a" }, "a rate-limited body arrives whole");
});

test.run();
