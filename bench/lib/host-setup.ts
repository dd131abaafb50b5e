// Shared setup for the filter-host benchmarks: a real control plane (embedded
// store in a temp dir), VMs of the compiled filter, and an "ACK observed"
// hook on the VMs' config streams.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import pino from "pino";
import * as grpc from "@grpc/grpc-js";
import { startServer, type RunningServer } from "../../server/main.ts";
import { hfiGrpc } from "../../proto/loader.ts";
import type { Policy, PolicyServiceClient, ApplyPolicyResponseOut, StreamConfigRequestOut } from "../../proto/loader.ts";
import { WasmVm, type VmOptions } from "../../filter/host/vm.ts";
import { CONTROL_PLANE_CLUSTER, nodeFor } from "../../filter/host/sidecar/workload.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FILTER_WASM = process.env.HFI_FILTER_WASM ?? path.join(ROOT, "filter/build/hfi-filter.wasm");
export const silent = pino({ level: "silent" });

export interface ControlPlane {
  server: Pick<RunningServer, "grpcAddress">;
  client: PolicyServiceClient;
  apply(policy: Policy): Promise<ApplyPolicyResponseOut>;
  close(): Promise<void>;
}

/** ApplyPolicy as a promise. */
function applyVia(client: PolicyServiceClient): ControlPlane["apply"] {
  return (policy) =>
    new Promise((resolve, reject) =>
      client.applyPolicy({ policy }, (err: grpc.ServiceError | null, res?: ApplyPolicyResponseOut) => (err ? reject(err) : resolve(res!))),
    );
}

export async function startControlPlane(): Promise<ControlPlane> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-bench-"));
  const server = await startServer({ grpcAddr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", dataDir, logger: silent });
  const client = new (hfiGrpc().PolicyService)(server.grpcAddress, grpc.credentials.createInsecure());
  return {
    server,
    client,
    apply: applyVia(client),
    async close() {
      client.close();
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const decodeRequest = hfiGrpc().ConfigDiscoveryService.service.StreamConfig.requestDeserialize;

/** A filter VM whose ACKs are reported to `onAck(version)` the moment the guest sends them. */
let compiled: ReturnType<typeof WasmVm.compile> | undefined;

export async function loadVm(grpcAddress: string, service: string, onAck?: (version: string) => void, extra: VmOptions = {}): Promise<WasmVm> {
  // Compile once, instantiate per VM (as Envoy clones a VM per worker).
  compiled ??= WasmVm.compile(FILTER_WASM);
  return WasmVm.load(await compiled, {
    node: nodeFor({ service, namespace: "demo" }),
    clusters: { [CONTROL_PLANE_CLUSTER]: grpcAddress },
    logger: silent,
    onGrpcSend: onAck
      ? (msg) => {
          const req = decodeRequest(Buffer.from(msg)) as StreamConfigRequestOut;
          if (req.ack) onAck(req.ack.version);
        }
      : undefined,
    ...extra,
  });
}

export function quantiles(xs: ArrayLike<number>): { p50: number; p99: number; max: number; mean: number } {
  const s = Float64Array.from(xs).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  let sum = 0;
  for (const x of s) sum += x;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]!, mean: sum / s.length };
}

/** A gc() even without --expose-gc (for before/after memory figures). */
export function gc(): void {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

export async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setImmediate(r));
  }
}
