// Shared pieces of the filter-host tests: the compiled filter, VMs wired to
// a control plane, policies, and waiting for ACKs.
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { WasmVm, type VmOptions } from "../../filter/host/vm.ts";
import { VmPool, type PoolOptions } from "../../filter/host/pool.ts";
import { CONTROL_PLANE_CLUSTER, nodeFor } from "../../filter/host/sidecar/workload.ts";
import { PolicyClient, waitFor } from "../support/server.ts";
import { startSidecar, type RunningSidecar, type SidecarOptions } from "../../filter/host/sidecar/proxy.ts";
import type { Policy } from "../../proto/loader.ts";

export { waitFor };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The filter built by `npm run build:filter` (HFI_FILTER_WASM overrides, for local runs). */
export const FILTER_WASM = process.env.HFI_FILTER_WASM ?? path.join(ROOT, "filter/build/hfi-filter.wasm");

export const quietLogger = pino({ level: process.env.HFI_TEST_LOG ?? "silent" });

export interface Workload {
  service: string;
  namespace: string;
  pod?: string;
  labels?: Record<string, string>;
}

/** A filter VM for a workload, talking to the control plane at `grpcAddress`. */
export function loadFilter(grpcAddress: string, w: Workload | "unknown", extra: VmOptions = {}): Promise<WasmVm> {
  const node =
    w === "unknown" ? { id: "sidecar~10.0.0.9~mystery.demo~demo.svc.cluster.local", metadata: { NAMESPACE: "demo" } } : nodeFor(w);
  return WasmVm.load(FILTER_WASM, {
    node,
    clusters: { [CONTROL_PLANE_CLUSTER]: grpcAddress },
    logger: quietLogger,
    ...extra,
  });
}

/** A sidecar's VMs (canary, main thread, `workers` workers) for workload `w`, subscribed to `grpcAddress`. */
export function loadPool(grpcAddress: string, w: Workload, workers: number, extra: PoolOptions = {}): Promise<VmPool> {
  return VmPool.load(FILTER_WASM, {
    workers,
    node: nodeFor(w),
    clusters: { [CONTROL_PLANE_CLUSTER]: grpcAddress },
    logger: quietLogger,
    ...extra,
  });
}

export function abortPolicy(
  name: string,
  selector: { service?: string; namespace?: string; labels?: Record<string, string> },
  opts: { percentage?: number; status?: number; path?: string; priority?: number } = {},
): Policy {
  return {
    metadata: { name },
    spec: {
      selector,
      priority: opts.priority ?? 0,
      rules: [
        {
          match: opts.path ? { path: { prefix: opts.path } } : undefined,
          fault: { percentage: opts.percentage ?? 100, abort: { httpStatus: opts.status ?? 503, body: `fault from ${name}` } },
        },
      ],
    },
  };
}

/** Applies a policy and waits until `proxies` targeted proxies have ACKed its version. */
export async function applyAndWait(pc: PolicyClient, policy: Policy, proxies: number, timeoutMs = 10_000): Promise<void> {
  const res = await pc.apply({ policy });
  const name = res.policy!.metadata!.name;
  await waitAcked(pc, name, proxies, timeoutMs);
}

export async function waitAcked(pc: PolicyClient, name: string, proxies: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const st = await pc.status(name);
      const p = st.policies.find((x) => x.name === name);
      return p && p.acked.length >= proxies && p.pending.length === 0 ? p : undefined;
    },
    `${proxies} ACKs of ${name}`,
    timeoutMs,
  );
}

/** Waits until a VM's config stream is up (the control plane lists it as a proxy). */
export async function waitConnected(pc: PolicyClient, count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const st = await pc.status();
      return st.proxies.filter((p) => p.ackedVersion).length >= count ? st : undefined;
    },
    `${count} connected proxies`,
    timeoutMs,
  );
}

export async function closeAll(...things: ({ close(): unknown } | undefined)[]): Promise<void> {
  for (const t of things) {
    try {
      await t?.close();
    } catch {
      /* best effort in cleanup */
    }
  }
}

/** `hfi sidecar` for frontend.demo (2 workers, metrics on) in front of `upstream`, subscribed to `controlPlane`. */
export function startFrontendSidecar(upstream: string, controlPlane: string, extra: Partial<SidecarOptions> = {}): Promise<RunningSidecar> {
  return startSidecar({
    listen: "127.0.0.1:0",
    upstream,
    controlPlane,
    service: "frontend",
    namespace: "demo",
    workers: 2,
    wasm: FILTER_WASM,
    metricsAddr: "127.0.0.1:0",
    logger: quietLogger,
    ...extra,
  });
}
