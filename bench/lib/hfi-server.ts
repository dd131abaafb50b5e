// `hfi server` as its own process, started the way a user starts it (the
// package bin), on free loopback ports; plus the PolicyService calls and the
// /metrics reads the benchmark makes. Only the public interface: CLI flags,
// hfi.v1 gRPC and HTTP.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { hfiGrpc } from "../../proto/loader.ts";
import type { ApplyPolicyResponseOut, GetPolicyStatusResponseOut, Policy, PolicyServiceClient } from "../../proto/loader.ts";
import { freePort } from "../../test/support/ports.ts";
import { MALLOC_ENV } from "../../scripts/k8s/runtime-env.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "cli/bin/hfi.js");

export interface HfiServerOptions {
  /** undefined: embedded store in a temp dir. */
  etcdEndpoint?: string;
  etcdPrefix?: string;
  /** Passed as --workers only when set (servers without the flag keep working). */
  workers?: string;
  apiToken?: string;
  streamToken?: string;
}

export class HfiServer {
  private log = "";
  private readonly exited: Promise<unknown>;
  private readonly client: PolicyServiceClient;

  private constructor(
    private readonly proc: ChildProcess,
    readonly grpcAddress: string,
    readonly httpAddress: string,
    private readonly dataDir: string | undefined,
    private readonly apiToken: string | undefined,
  ) {
    proc.stdout!.on("data", (d) => (this.log = (this.log + d).slice(-20_000)));
    proc.stderr!.on("data", (d) => (this.log = (this.log + d).slice(-20_000)));
    // BENCH_SERVER_LOG: also append everything the server prints to this file (e.g. --trace-gc lines).
    const file = process.env.BENCH_SERVER_LOG;
    if (file) {
      const out = fs.createWriteStream(file, { flags: "a" });
      proc.stdout!.pipe(out, { end: false });
      proc.stderr!.pipe(out, { end: false });
    }
    this.exited = new Promise((r) => proc.once("exit", r));
    // Status at 30k streams lists every proxy: well past grpc-js's default 4 MiB receive cap.
    this.client = new (hfiGrpc().PolicyService)(grpcAddress, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The last lines the server logged (for failures). */
  get logTail(): string {
    return this.log.split("\n").slice(-15).join("\n");
  }

  static async start(opts: HfiServerOptions): Promise<HfiServer> {
    const grpcAddress = `127.0.0.1:${await freePort()}`;
    const httpAddress = `127.0.0.1:${await freePort()}`;
    const dataDir = opts.etcdEndpoint ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "hfi-bench-"));
    // BENCH_SERVER_NODE_ARGS: extra node flags for the server (e.g. --cpu-prof), space-separated.
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const args = [...nodeArgs, BIN, "server", "--grpc-addr", grpcAddress, "--http-addr", httpAddress, "--log-level", process.env.BENCH_SERVER_LOG_LEVEL ?? "warn"];
    if (opts.etcdEndpoint) args.push("--etcd-endpoints", opts.etcdEndpoint, ...(opts.etcdPrefix ? ["--etcd-prefix", opts.etcdPrefix] : []));
    else args.push("--data-dir", dataDir!);
    if (opts.workers) args.push("--workers", opts.workers);
    // The control-plane image's malloc settings, unless the caller's environment sets its own.
    const env = { ...MALLOC_ENV, ...process.env };
    delete env.HFI_API_TOKEN;
    delete env.HFI_STREAM_TOKEN;
    if (opts.apiToken) env.HFI_API_TOKEN = opts.apiToken;
    if (opts.streamToken) env.HFI_STREAM_TOKEN = opts.streamToken;
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const server = new HfiServer(proc, grpcAddress, httpAddress, dataDir, opts.apiToken);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`hfi server exited (${proc.exitCode ?? proc.signalCode}):\n${server.logTail}`);
      try {
        const res = await fetch(`http://${httpAddress}/readyz`);
        if (res.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`hfi server not ready after 60 s:\n${server.logTail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return server;
  }

  private md(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.apiToken) md.set("authorization", `Bearer ${this.apiToken}`);
    return md;
  }

  apply(policy: Policy): Promise<ApplyPolicyResponseOut> {
    return new Promise((resolve, reject) =>
      this.client.applyPolicy({ policy }, this.md(), (err: grpc.ServiceError | null, res?: ApplyPolicyResponseOut) => (err ? reject(err) : resolve(res!))),
    );
  }

  status(name: string): Promise<GetPolicyStatusResponseOut> {
    return new Promise((resolve, reject) =>
      this.client.getPolicyStatus({ name }, this.md(), (err: grpc.ServiceError | null, res?: GetPolicyStatusResponseOut) => (err ? reject(err) : resolve(res!))),
    );
  }

  /**
   * Polls GetPolicyStatus(name) until `acked_count` reaches `n` for `version`;
   * returns the server's last_ack_unix_ms.
   */
  async lastAck(name: string, version: number, n: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = "";
    for (;;) {
      const st = (await this.status(name)).policies[0];
      if (st && st.version === version && st.ackedCount >= n) {
        if (!st.lastAckUnixMs) throw new Error("server reports acked_count but no last_ack_unix_ms (server without that field?)");
        return st.lastAckUnixMs;
      }
      seen = st ? `version ${st.version}, acked ${st.ackedCount}, nacked ${st.nackedCount}, pending ${st.pendingCount}, targeted ${st.targetedProxies}` : "no such policy";
      if (Date.now() > deadline) throw new Error(`server never reported ${n} ACKs of ${name}@${version} in ${timeoutMs} ms (last: ${seen})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://${this.httpAddress}/metrics`);
    return res.text();
  }

  async stop(): Promise<void> {
    this.client.close();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
      await this.exited;
      clearTimeout(t);
    }
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The largest value of a metric over its samples (any labels), or undefined. */
export function metricMax(text: string, name: string): number | undefined {
  let max: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) max = max === undefined ? v : Math.max(max, v);
  }
  return max;
}
