// max_active_faults: a VM holds at most that many requests at once (delay or
// start delay); the ones over it pass untouched and are counted. The compiled
// filter in the host, policies from a real server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { loadFilter, waitAcked, waitFor } from "./helpers.ts";
import type { RequestResult } from "../../filter/host/http-stream.ts";

test("over max_active_faults requests pass untouched and are counted; freed slots are reused", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" }, { pluginConfig: JSON.stringify({ max_active_faults: 2 }) });
  const aborts: AbortController[] = [];
  try {
    await pc.apply({
      policy: {
        metadata: { name: "hold" },
        spec: { selector: { service: "frontend" }, rules: [{ fault: { percentage: 100, delay: { fixedDelayMs: 120_000 } } }] },
      },
    });
    await waitAcked(pc, "hold", 1);
    const send = () => {
      const a = new AbortController();
      aborts.push(a);
      return vm.request({ path: "/", signal: a.signal });
    };
    const held = [send(), send()];
    const passed: RequestResult[] = [];
    for (let i = 0; i < 3; i++) passed.push(await send());
    for (const r of passed) {
      assert.is(r.kind, "continued");
      assert.is(r.status, 200);
    }
    const m = vm.metrics();
    assert.is(m["wasmcustom.hfi_faults_skipped_max_active_total"], 3);
    assert.is(m["wasmcustom.hfi_faults_delays_total"], 2);
    // The client gives up on one held request: its slot is free again.
    aborts[0]!.abort();
    await held[0]!.catch(() => undefined);
    const third = send();
    const raced = await Promise.race([third.then(() => "finished"), new Promise((r) => setTimeout(() => r("held"), 300))]);
    assert.is(raced, "held");
    assert.is(vm.metrics()["wasmcustom.hfi_faults_delays_total"], 3);
    assert.is(vm.metrics()["wasmcustom.hfi_faults_skipped_max_active_total"], 3);
  } finally {
    for (const a of aborts) a.abort();
    await vm.close();
    pc.close();
    await server.close();
  }
});

test("without the setting the default (1000) applies: 20 concurrent delays are all held", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const vm = await loadFilter(server.grpcAddress, { service: "frontend", namespace: "demo" });
  const aborts: AbortController[] = [];
  try {
    await pc.apply({
      policy: {
        metadata: { name: "hold" },
        spec: { selector: { service: "frontend" }, rules: [{ fault: { percentage: 100, delay: { fixedDelayMs: 120_000 } } }] },
      },
    });
    await waitAcked(pc, "hold", 1);
    const reqs = Array.from({ length: 20 }, () => {
      const a = new AbortController();
      aborts.push(a);
      return vm.request({ path: "/", signal: a.signal }).catch(() => undefined);
    });
    await waitFor(() => vm.metrics()["wasmcustom.hfi_faults_delays_total"] === 20, "20 delays started");
    assert.is(vm.metrics()["wasmcustom.hfi_faults_skipped_max_active_total"] ?? 0, 0);
    for (const a of aborts) a.abort();
    await Promise.all(reqs);
  } finally {
    for (const a of aborts) a.abort();
    await vm.close();
    pc.close();
    await server.close();
  }
});

test.run();
