// Test helpers for the control plane: start a server on free loopback ports
// (embedded store in a temp dir, or a TestEtcd), promisified PolicyService
// calls, and a StreamConfig subscriber that ACKs (or NACKs) and records
// every snapshot. Shared by the server, filter-host and CLI tests.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { hfiGrpc } from "../../proto/loader.ts";
import type {
  ApplyPolicyRequest,
  ApplyPolicyResponseOut,
  ConfigSnapshotOut,
  ConfigDiscoveryServiceClient,
  DeletePolicyResponseOut,
  GetPolicyResponseOut,
  GetPolicyStatusResponseOut,
  Identity,
  ListPoliciesResponseOut,
  PolicyServiceClient,
  StreamConfigRequest,
  StreamConfigRequestOut,
} from "../../proto/loader.ts";
import { startServer, type RunningServer, type StartOptions } from "../../server/main.ts";
import type { TestEtcd } from "./etcd.ts";

/** Polls `cond` until it returns a truthy value; throws after `timeoutMs` with `what`. */
export async function waitFor<T>(cond: () => T | Promise<T>, what = "condition", timeoutMs = 10_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface TestServerOptions extends StartOptions {
  /** Use this etcd (default: embedded store in a fresh temp dir). */
  etcd?: TestEtcd;
}

export interface TestServer extends RunningServer {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** Temp data dir of the embedded store (removed by close()). */
  dataDir?: string;
}

/** A server on 127.0.0.1 free ports; quiet logs unless HFI_TEST_LOG is set. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const { etcd, ...rest } = opts;
  const dataDir = etcd || rest.dataDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "hfi-server-"));
  const logger = rest.logger ?? pino({ level: process.env.HFI_TEST_LOG ?? "silent" });
  const server = await startServer({
    grpcAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    ...(etcd ? { etcdEndpoints: [etcd.endpoint] } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...rest,
    logger,
  });
  const close = server.close;
  return {
    ...server,
    baseUrl: `http://${server.httpAddress}`,
    dataDir,
    async close() {
      await close();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function metadataFor(token?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return md;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, self: unknown, req: Req, md: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) => fn.call(self, req, md, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** PolicyService with promises. Errors are grpc.ServiceError (code, details, metadata). */
export class PolicyClient {
  readonly raw: PolicyServiceClient;
  constructor(
    address: string,
    private readonly token?: string,
  ) {
    this.raw = new (hfiGrpc().PolicyService)(address, grpc.credentials.createInsecure());
  }
  private md(): grpc.Metadata {
    return metadataFor(this.token);
  }
  apply(req: ApplyPolicyRequest): Promise<ApplyPolicyResponseOut> {
    return call(this.raw.applyPolicy as Unary<ApplyPolicyRequest, ApplyPolicyResponseOut>, this.raw, req, this.md());
  }
  get(name: string): Promise<GetPolicyResponseOut> {
    return call(this.raw.getPolicy as Unary<object, GetPolicyResponseOut>, this.raw, { name }, this.md());
  }
  list(): Promise<ListPoliciesResponseOut> {
    return call(this.raw.listPolicies as Unary<object, ListPoliciesResponseOut>, this.raw, {}, this.md());
  }
  delete(name: string, expectedVersion = 0): Promise<DeletePolicyResponseOut> {
    return call(this.raw.deletePolicy as Unary<object, DeletePolicyResponseOut>, this.raw, { name, expectedVersion }, this.md());
  }
  status(name = "", proxyLimit = 0): Promise<GetPolicyStatusResponseOut> {
    return call(this.raw.getPolicyStatus as Unary<object, GetPolicyStatusResponseOut>, this.raw, { name, proxyLimit }, this.md());
  }
  close(): void {
    this.raw.close();
  }
}

export interface SubscriberOptions {
  /** Sent in Subscribe.token. */
  token?: string;
  /** Sent as `authorization: Bearer` metadata. */
  bearer?: string;
  /** Return an error string to NACK a snapshot instead of ACKing it. */
  nack?: (s: ConfigSnapshotOut) => string | undefined;
  /** Send no ACK/NACK at all. */
  silent?: boolean;
  /** Override the first message (default: Subscribe with the identity). */
  first?: StreamConfigRequest;
}

/** A filter stand-in on StreamConfig: records snapshots, answers each with ACK/NACK. */
export class TestSubscriber {
  readonly snapshots: ConfigSnapshotOut[] = [];
  /** Final status once the stream ended (code, details). */
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;
  private readonly client: ConfigDiscoveryServiceClient;
  private readonly call: grpc.ClientDuplexStream<StreamConfigRequest, ConfigSnapshotOut>;

  constructor(
    address: string,
    readonly identity: Identity,
    private readonly opts: SubscriberOptions = {},
  ) {
    this.client = new (hfiGrpc().ConfigDiscoveryService)(address, grpc.credentials.createInsecure());
    this.call = this.client.streamConfig(metadataFor(opts.bearer));
    this.call.on("data", (s: ConfigSnapshotOut) => {
      this.snapshots.push(s);
      if (opts.silent) return;
      const err = opts.nack?.(s);
      this.send(err ? { nack: { version: s.version, nonce: s.nonce, error: err } } : { ack: { version: s.version, nonce: s.nonce } });
    });
    this.call.on("status", (st: grpc.StatusObject) => (this.status = st));
    this.call.on("error", (e: grpc.ServiceError) => (this.error = e));
    this.call.write(opts.first ?? { subscribe: { identity, token: opts.token ?? "" } });
  }

  send(msg: StreamConfigRequest): void {
    if (!this.status) this.call.write(msg);
  }

  get latest(): ConfigSnapshotOut | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  /** Names in the latest snapshot, in order. */
  get names(): string[] {
    return this.latest?.policies.map((p) => p.name) ?? [];
  }

  /** Waits for a snapshot satisfying `pred` (checked against the latest). */
  waitFor(pred: (s: ConfigSnapshotOut) => boolean, what = "snapshot", timeoutMs = 10_000): Promise<ConfigSnapshotOut> {
    return waitFor(() => (this.latest && pred(this.latest) ? this.latest : undefined), `${what} on ${this.identity.proxyId ?? "subscriber"}`, timeoutMs);
  }

  /** Waits until the stream has ended; returns its status. */
  waitEnded(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    return waitFor(() => this.status, "stream end", timeoutMs);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export type { StreamConfigRequestOut };
