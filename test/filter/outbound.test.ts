// Outbound faults end to end: `hfi sidecar --outbound` stands for frontend's
// outbound listener (routes by authority to two local "mesh services" and a
// passthrough upstream, with Istio's cluster names), an inbound sidecar of
// the same workload next to it, one real control plane. Outbound policies
// act on calls to their destination only, by every name a caller may use;
// inbound and outbound policies never leak into the other direction; the
// hfi CLI process runs the outbound mode too.
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { freePort } from "../support/ports.ts";
import { startSidecar, type RunningSidecar } from "../../filter/host/sidecar/proxy.ts";
import { hostAliases, outboundRoutes } from "../../filter/host/sidecar/routes.ts";
import { FILTER_WASM, applyAndWait, closeAll, quietLogger, waitConnected, waitFor } from "./helpers.ts";
import type { Policy } from "../../proto/loader.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let server: TestServer;
let pc: PolicyClient;
const upstreams: http.Server[] = [];
let catalogUrl = "";
let cartUrl = "";
let passUrl = "";
let out: RunningSidecar;
let inb: RunningSidecar;
const seen: { who: string; host: string | undefined }[] = [];

async function serve(who: string): Promise<string> {
  const s = http.createServer((req, res) => {
    seen.push({ who, host: req.headers.host });
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" }).end(who);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  upstreams.push(s);
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

/** GET through a sidecar with the Host header a caller would send. */
function call(sidecar: RunningSidecar | string, host: string, p = "/"): Promise<{ status: number; body: string; fault?: string }> {
  const addr = typeof sidecar === "string" ? sidecar : sidecar.address;
  const [h, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request({ host: h, port, path: p, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body, fault: res.headers["x-hfi-fault"] as string | undefined }));
    });
    req.on("error", reject);
    req.end();
  });
}

const outboundPolicy = (name: string, rules: object[]): Policy => ({
  metadata: { name },
  spec: { selector: { service: "frontend", namespace: "demo" }, direction: "outbound", rules: rules as Policy["spec"] extends { rules?: infer R } ? R : never },
});

test.before(async () => {
  catalogUrl = await serve("catalog");
  cartUrl = await serve("cart");
  passUrl = await serve("passthrough");
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  const common = { listen: "127.0.0.1:0", controlPlane: server.grpcAddress, service: "frontend", namespace: "demo", wasm: FILTER_WASM, logger: quietLogger };
  out = await startSidecar({
    ...common,
    outbound: true,
    upstream: passUrl,
    destinations: [
      { host: "productcatalog.demo.svc.cluster.local", port: 8080, url: catalogUrl },
      { host: "cart.demo.svc.cluster.local", port: 8080, url: cartUrl },
    ],
  });
  inb = await startSidecar({ ...common, upstream: catalogUrl });
  await waitConnected(pc, 4); // main thread + 1 worker each
  // The shape (abort instead of a 30 % delay, so every call shows it).
  await applyAndWait(
    pc,
    outboundPolicy("fe-to-catalog", [{ match: { destination: { service: "productcatalog", namespace: "demo" } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }]),
    2,
  );
  await applyAndWait(pc, outboundPolicy("fe-to-api", [{ match: { destination: { host: "api.example.com" } }, fault: { percentage: 100, abort: { httpStatus: 418 } } }]), 2);
  await applyAndWait(pc, outboundPolicy("fe-to-cart-9999", [{ match: { destination: { service: "cart", port: 9999 } }, fault: { percentage: 100, abort: { httpStatus: 500 } } }]), 2);
  await applyAndWait(pc, outboundPolicy("fe-out-all", [{ match: { path: { prefix: "/all-out" } }, fault: { percentage: 100, abort: { httpStatus: 429 } } }]), 2);
  await applyAndWait(
    pc,
    { metadata: { name: "fe-in" }, spec: { selector: { service: "frontend", namespace: "demo" }, rules: [{ match: { path: { prefix: "/in-only" } }, fault: { percentage: 100, abort: { httpStatus: 451 } } }] } },
    2, // each policy targets the 2 filter instances of its direction
  );
});

test.after(async () => {
  await closeAll(out, inb);
  pc?.close();
  await server?.close();
  for (const s of upstreams) await new Promise((r) => s.close(r));
});

test("a call to the destination is faulted by every name a caller in its namespace may use", async () => {
  for (const host of ["productcatalog:8080", "productcatalog.demo:8080", "productcatalog.demo.svc:8080", "productcatalog.demo.svc.cluster.local:8080"]) {
    const r = await call(out, host);
    assert.is(r.status, 503, host);
    assert.is(r.fault, "fe-to-catalog", host);
  }
});

test("calls to other destinations pass, with the caller's authority kept", async () => {
  seen.length = 0;
  const r = await call(out, "cart:8080");
  assert.is(r.status, 200);
  assert.is(r.body, "cart", "destination port 9999 does not match a call on 8080");
  assert.equal(seen, [{ who: "cart", host: "cart:8080" }]);
  const other = await call(out, "somewhere.else:8080");
  assert.is(other.body, "passthrough");
});

test("a host destination matches through PassthroughCluster by :authority", async () => {
  const r = await call(out, "api.example.com");
  assert.is(r.status, 418);
  assert.is(r.fault, "fe-to-api");
  assert.is((await call(out, "api.example.org")).status, 200);
});

test("inbound and outbound policies stay in their direction", async () => {
  const outAll = await call(out, "cart:8080", "/all-out/x");
  assert.is(outAll.status, 429, "outbound policy without destination: every outbound call");
  assert.is((await call(inb, "frontend:8080", "/all-out/x")).status, 200, "the inbound filter ignores outbound policies");
  assert.is((await call(inb, "frontend:8080", "/in-only")).status, 451);
  assert.is((await call(out, "cart:8080", "/in-only")).status, 200, "the outbound filter ignores inbound policies");
});

test("status tells the directions apart: proxies report theirs, policies carry theirs", async () => {
  const st = await pc.status();
  const dirs = st.proxies.map((p) => p.identity?.direction).sort();
  assert.equal(dirs, ["inbound", "inbound", "outbound", "outbound"]);
  const out1 = (await pc.status("fe-to-catalog")).policies[0]!;
  assert.is(out1.direction, "outbound");
  assert.is(out1.targetedProxies, 2, "only the outbound filter instances (main thread + worker)");
  assert.ok(out1.acked.every((r) => r.identity?.direction === "outbound"));
  const in1 = (await pc.status("fe-in")).policies[0]!;
  assert.is(in1.direction, "inbound");
  assert.is(in1.targetedProxies, 2);
  assert.ok(in1.acked.every((r) => r.identity?.direction === "inbound"));
  const list = await pc.list();
  const byName = Object.fromEntries(list.policies.map((p) => [p.metadata!.name, p.spec!.direction]));
  assert.is(byName["fe-to-catalog"], "outbound");
  assert.is(byName["fe-in"], "");
});

test("routes: Istio's virtual host names of a service, short name only in the caller's namespace", () => {
  assert.equal(hostAliases("productcatalog.demo.svc.cluster.local", "demo"), [
    "productcatalog.demo.svc.cluster.local",
    "productcatalog.demo.svc",
    "productcatalog.demo",
    "productcatalog",
  ]);
  assert.equal(hostAliases("productcatalog.demo.svc.cluster.local", "shop"), ["productcatalog.demo.svc.cluster.local", "productcatalog.demo.svc", "productcatalog.demo"]);
  const dests = [{ host: "productcatalog.demo.svc.cluster.local", port: 8080, url: "http://127.0.0.1:1" }];
  const route = outboundRoutes(dests, "demo", undefined);
  const props = route("productcatalog:8080")!.properties() as { xds: Record<string, unknown> };
  assert.equal(props.xds, {
    cluster_name: "outbound|8080||productcatalog.demo.svc.cluster.local",
    route_name: "default",
    virtual_host_name: "productcatalog.demo.svc.cluster.local:8080",
    listener_direction: 2n,
  });
  assert.is(route("productcatalog:9090"), undefined, "wrong port: no route (Envoy's 404)");
});

test("hfi sidecar --outbound: the CLI process routes and faults calls (no route: 404)", async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "cli/bin/hfi.js"), "sidecar", "--outbound",
      "--listen", `127.0.0.1:${port}`, "--control-plane", server.grpcAddress, "--service", "frontend", "--namespace", "demo",
      "--destination", `productcatalog.demo.svc.cluster.local:8080=${catalogUrl}`,
      "--destination", `cart.demo.svc.cluster.local:8080=${cartUrl}`,
      "--wasm", FILTER_WASM, "--log-level", "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const addr = `127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await call(addr, "productcatalog:8080").catch(() => undefined))?.status === 503, `CLI outbound sidecar faulting (${log})`, 20_000);
    assert.is((await call(addr, "cart:8080")).body, "cart");
    assert.is((await call(addr, "nowhere:8080")).status, 404, "no --upstream: unknown destinations have no route");
  } finally {
    child.kill("SIGTERM");
  }
  assert.is(await exited, 0, log);
});

test("hfi sidecar refuses --destination without --outbound and a malformed one (exit 2)", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, "cli/bin/hfi.js"), "sidecar", "--service", "x", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let o = "";
      child.stdout.on("data", (d) => (o += d));
      child.stderr.on("data", (d) => (o += d));
      child.on("exit", (code) => resolve({ code, out: o }));
    });
  const noOutbound = await run(["--upstream", "http://127.0.0.1:1", "--destination", "a.b.svc.cluster.local:80=http://127.0.0.1:2"]);
  assert.is(noOutbound.code, 2);
  assert.match(noOutbound.out, /--destination needs --outbound/);
  const bad = await run(["--outbound", "--destination", "no-port=http://x"]);
  assert.is(bad.code, 2);
  assert.match(bad.out, /invalid destination "no-port=http:\/\/x" \(want HOST:PORT=URL/);
});

test.run();
