// Injected faults are marked on the response so telemetry can tell them from
// real ones: aborts and (now) delays carry x-hfi-fault: <policy> and
// x-hfi-fault-kind; requests not faulted carry neither. The compiled filter
// in the host, policies from a real server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { loadFilter, waitAcked } from "./helpers.ts";

test("delayed and aborted responses are marked, others not", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" });
  try {
    await pc.apply({
      policy: {
        metadata: { name: "slow" },
        spec: { selector: { service: "frontend" }, rules: [{ match: { path: { prefix: "/slow" } }, fault: { percentage: 100, delay: { fixedDelayMs: 5 } } }] },
      },
    });
    await pc.apply({
      policy: {
        metadata: { name: "broken" },
        spec: { selector: { service: "frontend" }, rules: [{ match: { path: { prefix: "/broken" } }, fault: { percentage: 100, abort: { httpStatus: 503 } } }] },
      },
    });
    await waitAcked(pc, "slow", 1);
    await waitAcked(pc, "broken", 1);
    const slow = await vm.request({ path: "/slow", response: { status: 200, headers: { "x-hfi-fault": "spoofed-by-upstream" } } });
    assert.is(slow.status, 200);
    assert.is(slow.headers["x-hfi-fault"], "slow");
    assert.is(slow.headers["x-hfi-fault-kind"], "delay");
    const broken = await vm.request({ path: "/broken" });
    assert.is(broken.status, 503);
    assert.is(broken.headers["x-hfi-fault"], "broken");
    assert.is(broken.headers["x-hfi-fault-kind"], "abort");
    const plain = await vm.request({ path: "/other" });
    assert.is(plain.headers["x-hfi-fault"], undefined);
    assert.is(plain.headers["x-hfi-fault-kind"], undefined);
  } finally {
    await vm.close();
    pc.close();
    await server.close();
  }
});

test("a delayed request with a response rewrite carries both; the mark stays when the rewrite's upstream status does not hold", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" });
  try {
    await pc.apply({
      policy: {
        metadata: { name: "slow-rewrite" },
        spec: {
          selector: { service: "frontend" },
          rules: [{ match: { path: { prefix: "/both" } }, fault: { percentage: 100, delay: { fixedDelayMs: 5 }, response: { status: 502, upstreamStatus: { min: 500, max: 599 } } } }],
        },
      },
    });
    await waitAcked(pc, "slow-rewrite", 1);
    const rewritten = await vm.request({ path: "/both", response: { status: 500 } });
    assert.is(rewritten.status, 502);
    assert.is(rewritten.headers["x-hfi-fault"], "slow-rewrite");
    assert.is(rewritten.headers["x-hfi-fault-kind"], "delay");
    const kept = await vm.request({ path: "/both", response: { status: 200 } });
    assert.is(kept.status, 200);
    assert.is(kept.headers["x-hfi-fault"], "slow-rewrite");
    assert.is(kept.headers["x-hfi-fault-kind"], "delay");
  } finally {
    await vm.close();
    pc.close();
    await server.close();
  }
});

test.run();
