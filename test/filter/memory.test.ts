// The filter's guest memory stays bounded: the release module uses the
// minimal runtime and collects only between host callbacks, so a leak on
// the request path or on snapshot swaps would show here as growth of the
// guest's linear memory (which never shrinks).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import type { WasmVm } from "../../filter/host/vm.ts";
import type { Policy } from "../../proto/loader.ts";
import { abortPolicy, applyAndWait, closeAll, loadFilter } from "./helpers.ts";

const MiB = 1024 * 1024;
let server: TestServer;
let pc: PolicyClient;
let vm: WasmVm;

test.before(async () => {
  server = await startTestServer();
  pc = new PolicyClient(server.grpcAddress);
  vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" });
});

test.after(async () => {
  await closeAll(vm);
  pc?.close();
  await server?.close();
});

/** A policy that does not match the test traffic but makes every request evaluate regex and header rules. */
function busyPolicy(i: number): Policy {
  return {
    metadata: { name: `busy-${String(i).padStart(3, "0")}` },
    spec: {
      selector: { service: "frontend" },
      rules: [
        {
          match: { path: { regex: `^/never/${i}/[a-z]+$` }, headers: [{ name: "x-user", exact: `u${i}` }] },
          fault: { percentage: 100, abort: { httpStatus: 500 } },
        },
      ],
    },
  };
}

async function traffic(n: number): Promise<{ aborted: number }> {
  let aborted = 0;
  for (let i = 0; i < n; i++) {
    const r = await vm.request({
      method: i % 2 ? "GET" : "POST",
      path: `/api/items/${i % 97}?page=${i % 7}`,
      headers: { "x-user": `u${i % 13}`, "content-type": "application/json" },
    });
    if (r.kind === "local_response") aborted++;
  }
  return { aborted };
}

test("40 000 requests over 21 policies (half aborted) do not grow guest memory after warm-up", async () => {
  for (let i = 0; i < 20; i++) await pc.apply({ policy: busyPolicy(i) });
  await applyAndWait(pc, abortPolicy("half", { service: "frontend" }, { path: "/api/items", percentage: 50 }), 1);
  const warm = await traffic(5_000);
  assert.ok(warm.aborted > 2_000 && warm.aborted < 3_000, `about half aborted during warm-up (${warm.aborted})`);
  const before = vm.memorySize;
  const run = await traffic(40_000);
  assert.ok(run.aborted > 18_000, `the fault keeps firing (${run.aborted})`);
  const after = vm.memorySize;
  // A leak of even 30 bytes per request would add more than 1 MiB here.
  assert.ok(after <= before + MiB, `guest memory ${before} → ${after} bytes`);
  assert.ok(after <= 8 * MiB, `guest memory stays small (${after} bytes)`);
});

test("60 snapshot swaps do not grow guest memory after warm-up", async () => {
  const bump = (round: number) =>
    applyAndWait(pc, abortPolicy("half", { service: "frontend" }, { path: `/api/items/${round}`, percentage: 50 }), 1);
  for (let r = 0; r < 10; r++) await bump(r);
  await traffic(500);
  const before = vm.memorySize;
  for (let r = 10; r < 70; r++) {
    await bump(r);
    await traffic(50);
  }
  const after = vm.memorySize;
  assert.ok(after <= before + MiB, `guest memory ${before} → ${after} bytes after 60 swaps of a 21-policy snapshot`);
});

test.run();
