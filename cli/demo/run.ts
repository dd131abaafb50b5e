// `npm run demo`: the whole system on this machine. A control plane on the
// embedded store, a demo "frontend" service, `hfi sidecar` (the filter in
// the Node proxy-wasm host) in front of it, traffic through the sidecar, and
// policies applied and deleted while the traffic runs. Exits 0 when the
// faults were seen and traffic was healthy again at the end; Ctrl-C stops
// everything at any point.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { createPolicyClient, type Policy, type PolicyClient } from "../client/index.ts";
import { startServer, type RunningServer } from "../../server/main.ts";
import { startUpstream, type Upstream } from "./upstream.ts";
import { summarize, Traffic, type Sample, type Stats } from "./traffic.ts";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const HFI = path.join(REPO, "cli/bin/hfi.js");

/** Figures of the demo; short enough to keep the whole run around 40 s. */
const RPS = 25;
const PATHS = ["/api/products", "/api/cart"];
const DELAY_MS = 500;
/** A request this slow was delayed by the policy (healthy ones take a few ms). */
const DELAYED_AT_MS = 400;
const PHASE_SECONDS = { baseline: 4, delay: 8, abort: 8, paused: 4, healthy: 6 };

const interactive = process.stdout.isTTY === true && !process.env.CI;
const color = interactive && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => paint(1, s);
const dim = (s: string) => paint(2, s);
const red = (s: string) => paint(31, s);
const green = (s: string) => paint(32, s);
const yellow = (s: string) => paint(33, s);

const out = (s = "") => process.stdout.write(`${s}\n`);
let stepNo = 0;
const TOTAL_STEPS = 9;
const step = (title: string) => out(`\n${bold(`▸ ${++stepNo}/${TOTAL_STEPS} ${title}`)}`);
const info = (s: string) => out(`    ${s}`);

// ── everything that must be stopped, whatever happens ───────────────────────

const children = new Set<ChildProcess>();
let server: RunningServer | undefined;
let upstream: Upstream | undefined;
let traffic: Traffic | undefined;
let client: PolicyClient | undefined;
let dataDir: string | undefined;
let shuttingDown = false;

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

async function cleanup(): Promise<void> {
  traffic?.abort();
  await Promise.all([...children].map(stopChild));
  client?.close();
  await upstream?.close().catch(() => {});
  await server?.close().catch(() => {});
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}

async function shutdown(code: number, why?: string): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    if (interactive) process.stdout.write("\r\x1b[2K");
    if (why) out(`\n${why}`);
    await cleanup();
  }
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(130, "Interrupted: stopping the sidecar, the demo service and the control plane."));
process.on("SIGTERM", () => void shutdown(143, "Terminated: stopping everything."));
// Last resort (e.g. an exception): no child outlives the demo.
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

// ── helpers ─────────────────────────────────────────────────────────────────

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `hfi ARGS` (the real CLI), showing the command and its output. */
async function hfi(args: string[]): Promise<void> {
  info(dim(`$ hfi ${args.join(" ")}`));
  const child = spawn(process.execPath, [HFI, ...args], {
    cwd: REPO,
    env: { ...process.env, HFI_SERVER: server!.grpcAddress },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  child.stderr!.on("data", (d) => (text += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  children.delete(child);
  for (const line of text.trimEnd().split("\n")) if (line) info(`  ${line}`);
  if (code !== 0) throw new Error(`hfi ${args.join(" ")} exited with ${code}`);
}

function fmtMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)}ms` : `${ms.toFixed(1)}ms`;
}

function statsLine(label: string, s: Stats): string {
  const parts = [...s.byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, n]) => {
      const t = `${code === 0 ? "error" : code}: ${n}`;
      return { plain: t, shown: code >= 200 && code < 300 ? green(t) : red(t) };
    });
  // Pad by the visible width (colour codes take none).
  const plainWidth = parts.reduce((w, p, i) => w + p.plain.length + (i ? 2 : 0), 0);
  const statuses = parts.map((p) => p.shown).join("  ") + " ".repeat(Math.max(0, 20 - plainWidth));
  const delayed = `delayed: ${s.delayed}`.padEnd(11);
  return [
    label.padStart(4),
    `${String(s.requests).padStart(3)} req`,
    statuses,
    s.delayed ? yellow(delayed) : delayed,
    `p50 ${fmtMs(s.p50).padStart(7)}`,
    `p99 ${fmtMs(s.p99).padStart(7)}`,
  ].join("  ");
}

/** Runs traffic for `seconds`, one line per second (plus a live line on a terminal); returns every sample. */
async function runPhase(seconds: number): Promise<Sample[]> {
  const all: Sample[] = [];
  let current: Sample[] = [];
  // Only requests sent during this phase count (not ones still in flight from the previous one).
  const since = Date.now();
  const take = () => traffic!.take().filter((x) => x.sentAt >= since);
  for (let s = 1; s <= seconds; s++) {
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, interactive ? 200 : Math.max(0, end - Date.now())));
      current.push(...take());
      if (interactive) process.stdout.write(`\r\x1b[2K    ${statsLine(`${s}s`, summarize(current, DELAYED_AT_MS))}`);
    }
    if (interactive) process.stdout.write("\r\x1b[2K");
    out(`    ${statsLine(`${s}s`, summarize(current, DELAYED_AT_MS))}`);
    all.push(...current);
    current = [];
  }
  return all;
}

async function sidecarAcked(policyName: string): Promise<number> {
  const st = await client!.getPolicyStatus(policyName);
  const p = st.policies[0];
  return p && Math.max(p.ackedCount, p.acked.length) > 0 && p.targetedProxies > 0 ? p.version : (undefined as unknown as number);
}

// ── the demo ────────────────────────────────────────────────────────────────

const ABORT_POLICY: Policy = {
  metadata: { name: "frontend-cart-abort" },
  spec: {
    selector: { service: "frontend", namespace: "demo" },
    priority: 10,
    rules: [
      {
        match: { path: { prefix: "/api/cart" } },
        fault: { percentage: 50, abort: { httpStatus: 503, body: "fault injected by HFI" } },
      },
    ],
  },
};

async function main(): Promise<void> {
  out(bold("HFI demo: control plane + sidecar + demo service on this machine") + dim("  (Ctrl-C stops everything)"));

  step("Starting the control plane on the embedded store");
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-demo-"));
  server = await startServer({
    grpcAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    dataDir,
    logger: pino({ level: "error" }, pino.destination(2)),
  });
  client = createPolicyClient({ server: server.grpcAddress });
  info(`gRPC ${server.grpcAddress} (PolicyService, config streams)   HTTP http://${server.httpAddress} (REST, /metrics)`);
  info(`data dir ${dataDir}`);

  step('Starting the demo service "frontend" (a small JSON API on node:http)');
  upstream = await startUpstream();
  info(`${upstream.url}   GET /api/products, GET /api/cart`);

  step("Starting the sidecar (the HFI filter .wasm in a proxy-wasm host) in front of it");
  const listen = `127.0.0.1:${await freePort()}`;
  const sidecarArgs = [
    "sidecar",
    "--listen", listen,
    "--upstream", upstream.url,
    "--control-plane", server.grpcAddress,
    "--service", "frontend",
    "--namespace", "demo",
    "--log-level", "warn",
  ];
  info(dim(`$ hfi ${sidecarArgs.join(" ")}`));
  const sidecar = spawn(process.execPath, [HFI, ...sidecarArgs], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  children.add(sidecar);
  let sidecarLog = "";
  const relay = (d: Buffer) => {
    sidecarLog += d;
    for (const line of d.toString().trimEnd().split("\n")) if (line) info(dim(`[sidecar] ${line}`));
  };
  sidecar.stdout!.on("data", relay);
  sidecar.stderr!.on("data", relay);
  sidecar.on("exit", (code, signal) => {
    if (!shuttingDown) void shutdown(1, red(`the sidecar exited unexpectedly (${signal ?? code}):\n${sidecarLog}`));
  });
  const proxy = await waitUntil("the sidecar to subscribe to the control plane", async () => {
    const st = await client!.getPolicyStatus();
    return st.proxies.find((p) => p.identity?.service === "frontend" && p.ackedVersion !== "");
  });
  await waitUntil(`the sidecar to listen on ${listen}`, async () => {
    const res = await fetch(`http://${listen}/health`);
    return res.ok;
  });
  info(`listening on http://${listen} (pid ${sidecar.pid}); subscribed as ${proxy.identity?.proxyId} (frontend.demo)`);

  traffic = new Traffic(`http://${listen}`, PATHS, RPS);
  traffic.start();

  step(`Healthy traffic: ${RPS} requests/s through the sidecar, alternating ${PATHS.join(" and ")}`);
  const baseline = await runPhase(PHASE_SECONDS.baseline);

  step(`Delay policy: half of frontend's requests wait ${DELAY_MS} ms (hfi policy apply)`);
  let t0 = Date.now();
  await hfi(["policy", "apply", "-f", "cli/examples/frontend-delay.yaml", "--wait=10s"]);
  // --wait returned once the sidecar ACKed it: one status read gives the version.
  let version = await sidecarAcked("frontend-delay");
  info(`the sidecar ACKed policy version ${version} ${Date.now() - t0} ms after the apply command started (pushed, not polled)`);
  const delayed = await runPhase(PHASE_SECONDS.delay);

  step("Abort policy (typed client): half of the /api/cart requests get 503");
  info(dim(`client.applyPolicy(${JSON.stringify(ABORT_POLICY)})`));
  t0 = Date.now();
  const applied = await client.applyPolicy(ABORT_POLICY);
  info(`  policy "${ABORT_POLICY.metadata!.name}" ${applied.result}`);
  version = await waitUntil("the sidecar to ACK the abort policy", () => sidecarAcked("frontend-cart-abort"));
  info(`the sidecar ACKed policy version ${version} after ${Date.now() - t0} ms`);
  info(dim("priority 10 puts it first: /api/cart requests roll the abort, /api/products ones still roll the delay"));
  const aborted = await runPhase(PHASE_SECONDS.abort);

  step("Per-policy counts: what each policy injected, reported by the filter (hfi policy status)");
  // The filter reports every 5 s; wait for the counts of the abort phase.
  await waitUntil("the sidecar's fault report", async () => {
    const st = await client!.getPolicyStatus("frontend-cart-abort");
    return Number(st.policies[0]?.faultsTotal?.aborted ?? 0) > 0 ? st : undefined;
  });
  await hfi(["policy", "status", "frontend-cart-abort"]);

  step("Kill switch: hfi pause stops every fault at once, the policies stay");
  t0 = Date.now();
  await hfi(["pause"]);
  await waitUntil("the sidecar to ACK the paused snapshot", async () => {
    const st = await client!.getPolicyStatus();
    const p = st.proxies.find((x) => x.identity?.service === "frontend");
    return st.policies.every((x) => x.paused) && p && p.ackedVersion === p.sentVersion ? p : undefined;
  });
  info(`the sidecar ACKed the paused snapshot ${Date.now() - t0} ms after hfi pause started`);
  const paused = await runPhase(PHASE_SECONDS.paused);
  await hfi(["resume"]);

  step("Deleting the policies: traffic is healthy again");
  await hfi(["policy", "describe", "frontend-delay"]);
  t0 = Date.now();
  await hfi(["policy", "delete", "--all", "--yes"]);
  await waitUntil("the sidecar to ACK the empty policy set", async () => {
    const st = await client!.getPolicyStatus();
    const p = st.proxies.find((x) => x.identity?.service === "frontend");
    return p && p.policies.length === 0 && p.ackedVersion === p.sentVersion ? p : undefined;
  });
  info(`the sidecar ACKed the empty policy set after ${Date.now() - t0} ms`);
  const healthy = await runPhase(PHASE_SECONDS.healthy);
  await traffic.stop();

  // ── summary and verdict ──
  const phases: [string, Stats][] = [
    ["healthy (before)", summarize(baseline, DELAYED_AT_MS)],
    ["delay 50%", summarize(delayed, DELAYED_AT_MS)],
    ["delay + abort", summarize(aborted, DELAYED_AT_MS)],
    ["paused", summarize(paused, DELAYED_AT_MS)],
    ["policies deleted", summarize(healthy, DELAYED_AT_MS)],
  ];
  out(`\n${bold("Summary")}`);
  out(`    ${"phase".padEnd(18)}${"requests".padStart(9)}${"ok".padStart(7)}${"aborted".padStart(9)}${"delayed".padStart(9)}${"p50".padStart(9)}${"p99".padStart(9)}`);
  for (const [name, s] of phases) {
    const ok = [...s.byStatus].filter(([c]) => c >= 200 && c < 300).reduce((a, [, n]) => a + n, 0);
    const failed = s.requests - ok;
    out(
      `    ${name.padEnd(18)}${String(s.requests).padStart(9)}${String(ok).padStart(7)}${String(failed).padStart(9)}${String(s.delayed).padStart(9)}${fmtMs(s.p50).padStart(9)}${fmtMs(s.p99).padStart(9)}`,
    );
  }

  const problems: string[] = [];
  const [, d] = phases[1]!;
  const [, a] = phases[2]!;
  const [, pz] = phases[3]!;
  const [, h] = phases[4]!;
  const pFailed = pz.requests - (pz.byStatus.get(200) ?? 0);
  if (pFailed > 0 || pz.delayed > 0) problems.push(`${pFailed} requests failed and ${pz.delayed} were delayed while paused`);
  if (d.delayed === 0) problems.push("no request was delayed while the delay policy was applied");
  if ((a.byStatus.get(503) ?? 0) === 0) problems.push("no request was aborted while the abort policy was applied");
  const hFailed = h.requests - (h.byStatus.get(200) ?? 0);
  if (hFailed > 0) problems.push(`${hFailed} requests failed after the policies were deleted`);
  if (h.requests === 0) problems.push("no traffic after the policies were deleted");
  if (problems.length) {
    out(red(`\nDemo FAILED: ${problems.join("; ")}`));
    await shutdown(1);
  }
  out(
    green(
      `\nDone: ${d.delayed} requests delayed, ${a.byStatus.get(503)} aborted with 503, and all ${h.requests} requests healthy after the policies were deleted.`,
    ),
  );
  out(dim("Try it yourself: npm run server, then npx hfi sidecar ... and npx hfi policy apply -f cli/examples/ (see README.md)."));
  await shutdown(0);
}

main().catch((err: unknown) => {
  void shutdown(1, red(`Demo failed: ${err instanceof Error ? err.message : String(err)}`));
});
