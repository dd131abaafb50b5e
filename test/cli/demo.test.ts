// `npm run demo` runs to completion on its own (CI=true, no terminal), shows
// delayed and aborted requests and healthy traffic at the end; Ctrl-C
// (SIGINT) at any point stops everything, leaving no process behind.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cleanEnv, LineReader, REPO, stopChild } from "./run.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The summary row of a phase: [requests, ok, aborted, delayed]. */
function summaryRow(output: string, phase: string): number[] {
  const line = output.split("\n").find((l) => l.trimStart().startsWith(phase) && /\d+\s+\d+\s+\d+\s+\d+\s/.test(l));
  assert.ok(line, `summary row for ${phase}`);
  return line!
    .trim()
    .slice(phase.length)
    .trim()
    .split(/\s+/)
    .slice(0, 4)
    .map(Number);
}

test("npm run demo (CI=true): exits 0 by itself; delays, aborts, then healthy traffic", async () => {
  const child = spawn("npm", ["run", "--silent", "demo"], {
    cwd: REPO,
    env: cleanEnv({ CI: "true" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  try {
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.is(code, 0, output);
  } finally {
    await stopChild(child);
  }
  assert.not.match(output, /\x1b\[/, "no colour or refresh without a terminal");
  assert.match(output, /policy "frontend-delay" created/);
  assert.match(output, /policy "frontend-cart-abort" created/);
  assert.match(output, /the sidecar ACKed policy version \d+/);
  assert.match(output, /503: \d+/, "per-second lines show aborted requests");
  assert.match(output, /delayed: [1-9]\d*/, "per-second lines show delayed requests");

  const [, , delayAborted, delayDelayed] = summaryRow(output, "delay 50%");
  assert.is(delayAborted, 0);
  assert.ok(delayDelayed! > 0, "requests delayed under the delay policy");
  const [, , abortAborted] = summaryRow(output, "delay + abort");
  assert.ok(abortAborted! > 0, "requests aborted under the abort policy");
  // Per-policy counts and the kill switch.
  assert.match(output, /policy "frontend-delay" version \d+ ACKed by (\d+)\/\1 proxies/);
  assert.match(output, /frontend-cart-abort rule 0 frontend\.demo: abort 503: [1-9]\d*/);
  assert.match(output, /paused: ALL policies/);
  const [pausedReq, pausedOk, pausedAborted, pausedDelayed] = summaryRow(output, "paused");
  assert.ok(pausedReq! > 0);
  assert.equal([pausedOk, pausedAborted, pausedDelayed], [pausedReq, 0, 0], "nothing injected while paused");
  const [healthyReq, healthyOk, healthyAborted] = summaryRow(output, "policies deleted");
  assert.ok(healthyReq! > 0);
  assert.is(healthyOk, healthyReq, "every request healthy after the policies were deleted");
  assert.is(healthyAborted, 0);
  assert.match(output, /Done: \d+ requests delayed, \d+ aborted with 503, and all \d+ requests healthy/);
});

test("Ctrl-C (SIGINT) mid-demo stops the sidecar, the server and the temp data dir", async () => {
  // bash execs node, so the signal goes straight to the demo process.
  const child = spawn("bash", ["scripts/demo.sh"], { cwd: REPO, env: cleanEnv({ CI: "true" }), stdio: ["ignore", "pipe", "pipe"] });
  const lines = new LineReader(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  let sidecarPid = 0;
  let dataDir = "";
  try {
    for (;;) {
      const line = await lines.next(60_000);
      const dir = /data dir (\S+)/.exec(line);
      if (dir) dataDir = dir[1]!;
      const pid = /\(pid (\d+)\)/.exec(line);
      if (pid) sidecarPid = Number(pid[1]);
      if (line.includes("Healthy traffic")) break;
    }
    assert.ok(sidecarPid > 0, "the demo printed the sidecar's pid");
    assert.ok(alive(sidecarPid), "the sidecar runs");
    assert.ok(fs.existsSync(dataDir), "the data dir exists while running");
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    assert.is(await exited, 130, stderr);
    assert.not.ok(alive(sidecarPid), "no orphan sidecar");
    assert.not.ok(fs.existsSync(dataDir), "temp data dir removed");
  } finally {
    await stopChild(child, "SIGKILL");
    if (sidecarPid && alive(sidecarPid)) process.kill(sidecarPid, "SIGKILL");
  }
});

test.run();
