// One proxy-wasm VM (one Envoy worker's plugin instance) on Node's
// WebAssembly: links Envoy's ABI 0.2.1 host functions, drives the module's
// callbacks in Envoy's order, and runs HTTP streams through it.
import fs from "node:fs/promises";
import crypto from "node:crypto";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import {
  BufferType,
  CalloutType,
  FilterHeadersStatus,
  GRPC_STATUS_UNSET,
  HeaderMapType,
  LogLevel,
  METRIC_ID_INCREMENT,
  METRIC_TYPE_MASK,
  MetricType,
  START_ALLOWED_IMPORTS,
  StreamType,
  WasmResult,
  type LogLevelName,
} from "./abi.ts";
import { checkModule, type CheckedModule } from "./strict.ts";
import { decodePairs, type HeaderPair } from "./pairs.ts";
import { lookupPath, serializeProperty, splitPath, type PropertyValue } from "./properties.ts";
import { MetricStore, type Metric, type MetricKind } from "./metrics.ts";
import { parseGrpcService } from "./grpc-service.ts";
import { defaultLogger, levelOf, logAt, type HostLogger } from "./logger.ts";

export interface NodeInfo {
  id?: string;
  cluster?: string;
  /** Envoy node metadata, e.g. {WORKLOAD_NAME, NAMESPACE, NAME, LABELS: {...}}. */
  metadata?: Record<string, PropertyValue>;
}

export interface VmOptions {
  /** Plugin configuration (BufferType.PluginConfiguration, size passed to proxy_on_configure). */
  pluginConfig?: string | Uint8Array;
  /** VM configuration (BufferType.VmConfiguration, size passed to proxy_on_vm_start). */
  vmConfig?: string | Uint8Array;
  node?: NodeInfo;
  /** gRPC cluster name -> "host:port" (what Envoy's cluster manager would resolve). */
  clusters?: Record<string, string>;
  /** Address used for a cluster missing from `clusters` (unset: such streams fail like an unknown cluster). */
  defaultCluster?: string;
  logger?: HostLogger;
  /** Level reported by proxy_get_log_level and used for the default logger (info). */
  logLevel?: LogLevelName;
  /** Shared metric store (several worker VMs share one, as Envoy's stats are process-wide). */
  metrics?: MetricStore;
  rootId?: string;
  pluginName?: string;
  vmId?: string;
  /** Extra properties (top-level tokens) for proxy_get_property. */
  properties?: Record<string, PropertyValue>;
  /** Behaviour when the VM has crashed: false (Envoy's default FAIL_CLOSED) answers 503. */
  failOpen?: boolean;
  /** Worker index (used only in log lines). */
  worker?: number;
  /** Observer of every callback the host makes into the guest (tests, debugging). */
  onGuestCall?: (callback: string, args: number[]) => void;
  /** Observer of messages the guest sends on gRPC streams (benchmarks, debugging). */
  onGrpcSend?: (message: Uint8Array, token: number) => void;
}

export type HeadersInit = Record<string, string | string[]> | readonly HeaderPair[];

export interface RequestInit {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  headers?: HeadersInit;
  /** Whether a body follows the headers (end_of_stream=false). Body bytes are not shown to the guest. */
  hasBody?: boolean;
  /** The upstream answer used when the filter lets the request through (default 200, no headers). */
  response?: { status?: number; headers?: HeadersInit; body?: string };
  /** Aborting resets the stream (downstream disconnect): the filter sees done/log/delete. */
  signal?: AbortSignal;
}

export interface RequestResult {
  kind: "continued" | "local_response" | "reset";
  status: number;
  /** Final response headers (after proxy_on_response_headers), lower-case names, values joined by ",". */
  headers: Record<string, string>;
  body: string;
  /** Time the request was held by the filter (0 if it was never paused). */
  pausedMs: number;
  /** Request headers as forwarded upstream (after the filter's changes). */
  requestHeaders: HeaderPair[];
  grpcStatus?: number;
}

export interface LocalResponse {
  status: number;
  headers: HeaderPair[];
  body: Uint8Array;
  details: string;
  grpcStatus?: number;
}

export type StreamDecision =
  | { kind: "continued"; requestHeaders: HeaderPair[] }
  | { kind: "local_response"; response: LocalResponse }
  | { kind: "reset" };

export type ResponseDecision =
  | { kind: "continued"; status: number; headers: HeaderPair[] }
  | { kind: "local_response"; response: LocalResponse };

type Phase = "request" | "paused" | "forwarded" | "response" | "response_paused" | "local" | "ended";

/** Envoy's FAIL_CLOSED answer when the plugin has crashed. */
const CRASH_RESPONSE_DETAILS = "wasm_fail_stream";

/** An HTTP stream (one stream context) going through the filter. */
export class HttpStream {
  phase: Phase = "request";
  requestHeaders: HeaderPair[];
  responseHeaders: HeaderPair[] | undefined;
  requestTrailers: HeaderPair[] | undefined;
  responseTrailers: HeaderPair[] | undefined;
  localResponse: LocalResponse | undefined;
  pausedAt = 0;
  pausedMs = 0;
  private decisionPromise: Promise<StreamDecision> | undefined;
  /** The decision once known (synchronously after start() unless paused). */
  settled: StreamDecision | undefined;
  private resolveDecision: ((d: StreamDecision) => void) | undefined;
  private responseWaiter: ((d: ResponseDecision) => void) | undefined;
  private responseStatus = 200;

  constructor(
    readonly vm: WasmVm,
    readonly contextId: number,
    headers: HeaderPair[],
  ) {
    this.requestHeaders = headers;
  }

  /** Resolves with the filter's decision (created lazily: most streams decide synchronously). */
  get decision(): Promise<StreamDecision> {
    if (!this.decisionPromise) {
      this.decisionPromise = this.settled
        ? Promise.resolve(this.settled)
        : new Promise((r) => (this.resolveDecision = r));
    }
    return this.decisionPromise;
  }

  get isGrpc(): boolean {
    const ct = getHeader(this.requestHeaders, "content-type");
    return ct !== undefined && ct.startsWith("application/grpc");
  }

  /** @internal */
  settle(d: StreamDecision): void {
    if (this.settled) return;
    if (this.pausedAt) {
      this.pausedMs += performance.now() - this.pausedAt;
      this.pausedAt = 0;
    }
    this.settled = d;
    this.resolveDecision?.(d);
  }

  /** @internal */
  pause(): void {
    this.pausedAt = performance.now();
  }

  /** @internal called by the VM when the filter resumes or answers during the response phase. */
  settleResponse(d: ResponseDecision): void {
    const w = this.responseWaiter;
    this.responseWaiter = undefined;
    if (w) w(d);
  }

  /**
   * Response headers from upstream (or a local reply) go through
   * proxy_on_response_headers; resolves with what to send downstream.
   */
  onResponse(status: number, headers: HeaderPair[], endOfStream: boolean): Promise<ResponseDecision> {
    this.responseStatus = status;
    return this.vm.runResponseHeaders(this, status, headers, endOfStream);
  }

  /** @internal */
  get status(): number {
    return this.responseStatus;
  }

  /** @internal */
  waitResponse(): Promise<ResponseDecision> {
    return new Promise((r) => (this.responseWaiter = r));
  }

  /** The stream is over (or the client went away): proxy_on_done, proxy_on_log, proxy_on_delete. */
  finish(): void {
    this.vm.finishStream(this);
  }
}

interface Context {
  id: number;
  rootId: number;
  stream?: HttpStream;
}

interface GrpcStreamState {
  token: number;
  contextId: number;
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  localClosed: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

function toBytes(v: string | Uint8Array | undefined): Uint8Array {
  if (v === undefined) return EMPTY;
  return typeof v === "string" ? enc.encode(v) : v;
}

export function getHeader(h: readonly HeaderPair[], name: string): string | undefined {
  for (const [k, v] of h) if (k === name) return v;
  return undefined;
}

export function toPairs(h: HeadersInit | undefined): HeaderPair[] {
  if (!h) return [];
  if (Array.isArray(h)) return (h as readonly HeaderPair[]).map(([k, v]) => [k.toLowerCase(), v]);
  const out: HeaderPair[] = [];
  for (const [k, v] of Object.entries(h as Record<string, string | string[]>)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k.toLowerCase(), one]);
  }
  return out;
}

export function pairsToRecord(h: readonly HeaderPair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of h) out[k] = k in out ? `${out[k]},${v}` : v;
  return out;
}

/** Envoy's HTTP status -> gRPC status mapping for local replies to gRPC requests. */
function httpToGrpcStatus(code: number): number {
  switch (code) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

type Fn = (...args: number[]) => number | undefined;

/** Counts of host-side events tests and benchmarks look at. */
export interface HostStats {
  /** Guest traps / host errors that failed the VM. */
  crashes: number;
  /** proxy_set_effective_context calls naming a context that no longer exists. */
  staleContextCalls: number;
  /** Guest callback time (ms, performance.now) — for the benchmark's guest/host split. */
  guestMs: number;
  guestCalls: number;
  /** Part of guestMs spent back in host functions the guest called. */
  hostInGuestMs: number;
}

export class WasmVm {
  readonly metricStore: MetricStore;
  readonly logger: HostLogger;
  readonly stats: HostStats = { crashes: 0, staleContextCalls: 0, guestMs: 0, guestCalls: 0, hostInGuestMs: 0 };
  /** Set when the VM crashed (trap or proc_exit); no guest code runs afterwards. */
  failure: Error | undefined;
  /** Measure guest time per callback (costs two performance.now() per call). */
  measureGuest = false;

  private instance!: WebAssembly.Instance;
  private memory!: WebAssembly.Memory;
  private memU8 = new Uint8Array(0);
  private memDv = new DataView(new ArrayBuffer(0));
  private memBuf = Buffer.alloc(0);
  private exp: Record<string, Fn> = {};
  private malloc!: Fn;
  private readonly contexts = new Map<number, Context>();
  private nextContextId = 1;
  private rootContextId = 0;
  private currentContext = 0;
  private effectiveContext = 0;
  private depth = 0;
  private afterCall: (() => void)[] = [];
  private readonly pluginConfig: Uint8Array;
  private readonly vmConfig: Uint8Array;
  private readonly metricIds = new Map<number, Metric>();
  private readonly metricIdByName = new Map<string, number>();
  private nextMetricId: Record<MetricKind, number> = {
    counter: MetricType.Counter,
    gauge: MetricType.Gauge,
    histogram: MetricType.Histogram,
  };
  private tickPeriod = new Map<number, number>();
  private tickTimers = new Map<number, NodeJS.Timeout>();
  private readonly grpcStreams = new Map<number, GrpcStreamState>();
  private nextGrpcToken: number = CalloutType.GrpcStream;
  private readonly grpcClients = new Map<string, grpc.Client>();
  private grpcReceiveBuffer: Uint8Array | undefined;
  private grpcInitialMetadata: HeaderPair[] | undefined;
  private grpcTrailingMetadata: HeaderPair[] | undefined;
  private status: { code: number; message: string } = { code: 0, message: "" };
  private closed = false;
  private restricted = false;
  private rootDone = false;
  private rootDoneWaiter: (() => void) | undefined;
  private readonly hostLogLevel: number;
  private readonly properties: Record<string, PropertyValue>;

  private constructor(
    readonly checked: CheckedModule,
    readonly options: VmOptions,
  ) {
    this.logger = options.logger ?? defaultLogger(options.logLevel ?? "info");
    this.hostLogLevel = options.logLevel ? LogLevel[options.logLevel] : levelOf(this.logger, "info");
    this.metricStore = options.metrics ?? new MetricStore();
    this.pluginConfig = toBytes(options.pluginConfig);
    this.vmConfig = toBytes(options.vmConfig);
    const node = options.node ?? {};
    this.properties = {
      node: { id: node.id ?? "", cluster: node.cluster ?? "", metadata: node.metadata ?? {} },
      plugin_name: options.pluginName ?? "hfi",
      plugin_root_id: options.rootId ?? "",
      plugin_vm_id: options.vmId ?? "",
      ...options.properties,
    };
  }

  /** Compile and strictly check a module once; share it between worker VMs. */
  static async compile(wasm: string | Uint8Array): Promise<CheckedModule> {
    const bytes = typeof wasm === "string" ? new Uint8Array(await fs.readFile(wasm)) : wasm;
    return checkModule(bytes);
  }

  /**
   * Load a module and start it as Envoy does: _initialize (or _start),
   * proxy_on_context_create(root), proxy_on_vm_start, proxy_on_configure.
   * Rejects if the module is refused or the plugin fails to start/configure.
   */
  static async load(wasm: string | Uint8Array | CheckedModule, options: VmOptions = {}): Promise<WasmVm> {
    const checked = isChecked(wasm) ? wasm : await WasmVm.compile(wasm);
    const vm = new WasmVm(checked, options);
    await vm.instantiate();
    vm.start();
    return vm;
  }

  private async instantiate(): Promise<void> {
    this.instance = await WebAssembly.instantiate(this.checked.module, this.imports());
    const e = this.instance.exports;
    this.memory = e.memory as WebAssembly.Memory;
    for (const [name, v] of Object.entries(e)) if (typeof v === "function") this.exp[name] = v as Fn;
    this.malloc = this.exp.malloc ?? this.exp.proxy_on_memory_allocate!;
  }

  private start(): void {
    const fail = (what: string) => {
      const msg = this.failure ? `${what}: ${this.failure.message}` : what;
      this.shutdownQuietly();
      throw new Error(msg);
    };
    // Envoy restricts host calls while the module initialises.
    this.restricted = true;
    if (this.exp._initialize) {
      this.callGuest(0, "_initialize");
      if (this.exp.main) this.callGuest(0, "main", 0, 0);
    } else if (this.exp._start) {
      this.callGuest(0, "_start");
    }
    this.restricted = false;
    if (this.failure) fail("wasm module start failed");
    this.rootContextId = this.nextContextId++;
    this.contexts.set(this.rootContextId, { id: this.rootContextId, rootId: this.rootContextId });
    this.callGuest(this.rootContextId, "proxy_on_context_create", this.rootContextId, 0);
    const started = this.callGuest(this.rootContextId, "proxy_on_vm_start", this.rootContextId, this.vmConfig.length);
    if (this.failure || (this.exp.proxy_on_vm_start && !started)) fail("proxy_on_vm_start failed");
    const configured = this.callGuest(
      this.rootContextId,
      "proxy_on_configure",
      this.rootContextId,
      this.pluginConfig.length,
    );
    if (this.failure || (this.exp.proxy_on_configure && !configured)) fail("proxy_on_configure failed (plugin configuration refused)");
  }

  /** The root context id (1, as in Envoy's first plugin). */
  get rootContext(): number {
    return this.rootContextId;
  }

  /** Bytes of the guest's linear memory. */
  get memorySize(): number {
    return this.memory.buffer.byteLength;
  }

  /** Streams currently alive (created and not yet deleted). */
  get activeStreams(): number {
    let n = 0;
    for (const c of this.contexts.values()) if (c.stream) n++;
    return n;
  }

  /** The root context's tick period (0 = no timer armed). */
  get tickPeriodMs(): number {
    return this.tickPeriod.get(this.rootContextId) ?? 0;
  }

  /** Open gRPC streams (callouts) of this VM. */
  get grpcStreamCount(): number {
    return this.grpcStreams.size;
  }

  // ---------------------------------------------------------------- calls in

  /** Call a module export with Envoy's context bookkeeping; undefined if absent or it trapped. */
  private callGuest(contextId: number, name: string, a?: number, b?: number, c?: number): number | undefined {
    const fn = this.exp[name];
    if (!fn || this.failure) return undefined;
    if (this.options.onGuestCall) this.options.onGuestCall(name, [a, b, c].filter((x) => x !== undefined) as number[]);
    const prevCurrent = this.currentContext;
    const prevEffective = this.effectiveContext;
    this.currentContext = contextId;
    this.effectiveContext = 0;
    this.depth++;
    const t0 = this.measureGuest ? performance.now() : 0;
    try {
      // Fixed arity (no rest array); wasm ignores extra arguments and reads missing ones as 0.
      return fn(a!, b!, c!);
    } catch (err) {
      this.crash(err, name);
      return undefined;
    } finally {
      if (this.measureGuest) {
        this.stats.guestMs += performance.now() - t0;
        this.stats.guestCalls++;
      }
      this.currentContext = prevCurrent;
      this.effectiveContext = prevEffective;
      if (--this.depth === 0 && this.afterCall.length) this.runAfterCall();
    }
  }

  private runAfterCall(): void {
    while (this.afterCall.length) {
      const actions = this.afterCall;
      this.afterCall = [];
      for (const a of actions) a();
    }
  }

  private crash(err: unknown, where: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!this.failure) {
      this.failure = e;
      this.stats.crashes++;
      this.logger.error({ err: e.message, where, worker: this.options.worker }, "Plugin Crash: wasm VM failed");
      // Paused streams would wait forever: answer them now.
      for (const c of this.contexts.values()) {
        const st = c.stream;
        if (st && st.phase === "paused") this.failStream(st);
        else if (st && st.phase === "response_paused") {
          st.phase = "response";
          st.settleResponse({ kind: "continued", status: st.status, headers: st.responseHeaders ?? [] });
        }
      }
    }
  }

  private failStream(s: HttpStream): void {
    if (this.options.failOpen) {
      s.phase = "forwarded";
      s.settle({ kind: "continued", requestHeaders: s.requestHeaders });
    } else {
      s.phase = "local";
      s.localResponse = {
        status: 503,
        headers: [],
        body: EMPTY,
        details: CRASH_RESPONSE_DETAILS,
        grpcStatus: s.isGrpc ? 14 : undefined,
      };
      s.settle({ kind: "local_response", response: s.localResponse });
    }
  }

  // ----------------------------------------------------------- HTTP streams

  /** Start a stream: proxy_on_context_create + proxy_on_request_headers. */
  startStream(headers: HeaderPair[], endOfStream = true): HttpStream {
    if (this.closed) throw new Error("VM is closed");
    const id = this.nextContextId++;
    const stream = new HttpStream(this, id, headers);
    this.contexts.set(id, { id, rootId: this.rootContextId, stream });
    if (this.failure) {
      this.failStream(stream);
      return stream;
    }
    this.callGuest(id, "proxy_on_context_create", id, this.rootContextId);
    const r = this.callGuest(id, "proxy_on_request_headers", id, headers.length, endOfStream ? 1 : 0);
    if (stream.settled) return stream; // local response sent from inside the callback
    if (this.failure) {
      this.failStream(stream);
    } else if (r === undefined || r === FilterHeadersStatus.Continue || r === FilterHeadersStatus.ContinueAndEndStream) {
      stream.phase = "forwarded";
      stream.settle({ kind: "continued", requestHeaders: stream.requestHeaders });
    } else {
      stream.phase = "paused";
      stream.pause();
    }
    return stream;
  }

  /** @internal */
  async runResponseHeaders(s: HttpStream, status: number, headers: HeaderPair[], eos: boolean): Promise<ResponseDecision> {
    const isLocal = s.phase === "local";
    const withStatus: HeaderPair[] = [[":status", String(status)], ...headers.filter(([k]) => k !== ":status")];
    s.responseHeaders = withStatus;
    if (!isLocal) s.phase = "response";
    if (this.failure || !this.contexts.has(s.contextId)) {
      return { kind: "continued", status, headers: withStatus };
    }
    const r = this.callGuest(s.contextId, "proxy_on_response_headers", s.contextId, withStatus.length, eos ? 1 : 0);
    const current = (): ResponseDecision => {
      if (!isLocal && s.phase === "local" && s.localResponse) return { kind: "local_response", response: s.localResponse };
      const hs = s.responseHeaders ?? withStatus;
      const st = Number(getHeader(hs, ":status") ?? status);
      return { kind: "continued", status: Number.isFinite(st) ? st : status, headers: hs };
    };
    // Local replies are not held: Envoy is already finishing the stream.
    if (isLocal || this.failure || r === undefined || r === FilterHeadersStatus.Continue || r === FilterHeadersStatus.ContinueAndEndStream) {
      return current();
    }
    if (s.phase === "local") return current();
    s.phase = "response_paused";
    s.pause();
    await s.waitResponse();
    return current();
  }

  /** @internal */
  finishStream(s: HttpStream): void {
    const ctx = this.contexts.get(s.contextId);
    if (!ctx) return;
    if (!s.settled) s.settle({ kind: "reset" });
    if (s.phase === "response_paused") s.settleResponse({ kind: "continued", status: s.status, headers: s.responseHeaders ?? [] });
    s.phase = "ended";
    // Envoy: filter destroy (proxy_on_done), access log (proxy_on_log), context delete.
    this.callGuest(s.contextId, "proxy_on_done", s.contextId);
    this.callGuest(s.contextId, "proxy_on_log", s.contextId);
    this.callGuest(s.contextId, "proxy_on_delete", s.contextId);
    this.contexts.delete(s.contextId);
  }

  /** Run a whole HTTP stream through the filter (no network). */
  async request(init: RequestInit = {}): Promise<RequestResult> {
    const headers: HeaderPair[] = [
      [":method", init.method ?? "GET"],
      [":path", init.path ?? "/"],
      [":authority", init.authority ?? "localhost"],
      [":scheme", init.scheme ?? "http"],
      ...toPairs(init.headers).filter(([k]) => !k.startsWith(":")),
    ];
    const stream = this.startStream(headers, !init.hasBody);
    const onAbort = () => stream.finish();
    if (init.signal) {
      if (init.signal.aborted) stream.finish();
      else init.signal.addEventListener("abort", onAbort, { once: true });
    }
    try {
      const d = stream.settled ?? (await stream.decision);
      if (d.kind === "reset") {
        return { kind: "reset", status: 0, headers: {}, body: "", pausedMs: stream.pausedMs, requestHeaders: stream.requestHeaders };
      }
      let body: string;
      let rd: ResponseDecision;
      if (d.kind === "local_response") {
        const lr = localResponseHeaders(d.response, stream.isGrpc);
        rd = await stream.onResponse(lr.status, lr.headers, true);
        body = dec.decode(lr.body);
      } else {
        const up = init.response ?? {};
        rd = await stream.onResponse(up.status ?? 200, toPairs(up.headers), !up.body);
        body = up.body ?? "";
      }
      let kind: RequestResult["kind"] = d.kind;
      let status: number;
      let hs: HeaderPair[];
      if (rd.kind === "local_response") {
        const lr = localResponseHeaders(rd.response, stream.isGrpc);
        kind = "local_response";
        status = lr.status;
        hs = lr.headers;
        body = dec.decode(lr.body);
      } else {
        status = rd.status;
        hs = rd.headers;
      }
      const record = pairsToRecord(hs.filter(([k]) => k !== ":status"));
      const gs = record["grpc-status"];
      return {
        kind,
        status,
        headers: record,
        body,
        pausedMs: stream.pausedMs,
        requestHeaders: stream.requestHeaders,
        grpcStatus: gs === undefined ? undefined : Number(gs),
      };
    } finally {
      init.signal?.removeEventListener("abort", onAbort);
      stream.finish();
    }
  }

  // ---------------------------------------------------------------- metrics

  /** Filter metrics by name (counters, gauges; histograms: sample count). */
  metrics(): Record<string, number> {
    return this.metricStore.snapshot();
  }

  // ------------------------------------------------------------------ close

  /**
   * Shut down as Envoy does on plugin removal: open streams are reset,
   * proxy_on_done(root) (waiting briefly for proxy_done if it returns false),
   * proxy_on_delete(root); timers and gRPC streams are cancelled.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.contexts.values()]) if (c.stream) c.stream.finish();
    this.closed = true;
    for (const t of this.tickTimers.values()) clearTimeout(t);
    this.tickTimers.clear();
    this.tickPeriod.clear();
    if (this.rootContextId && this.contexts.has(this.rootContextId)) {
      const done = this.callGuest(this.rootContextId, "proxy_on_done", this.rootContextId);
      if (done === 0 && !this.rootDone) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          this.rootDoneWaiter = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      this.callGuest(this.rootContextId, "proxy_on_delete", this.rootContextId);
      this.contexts.delete(this.rootContextId);
      this.cancelStreamsOf(this.rootContextId);
    }
    this.shutdownQuietly();
  }

  private shutdownQuietly(): void {
    this.closed = true;
    for (const t of this.tickTimers.values()) clearTimeout(t);
    this.tickTimers.clear();
    for (const s of [...this.grpcStreams.values()]) this.cancelGrpc(s);
    for (const c of this.grpcClients.values()) c.close();
    this.grpcClients.clear();
  }

  // ----------------------------------------------------------------- memory

  private refreshMemory(): void {
    if (this.memU8.buffer !== this.memory.buffer) {
      this.memU8 = new Uint8Array(this.memory.buffer);
      this.memDv = new DataView(this.memory.buffer);
      this.memBuf = Buffer.from(this.memory.buffer);
    }
  }

  private inBounds(ptr: number, len: number): boolean {
    this.refreshMemory();
    return ptr >= 0 && len >= 0 && ptr + len <= this.memU8.length;
  }

  /** A view of guest memory (valid until the next guest call). */
  private view(ptr: number, len: number): Uint8Array | undefined {
    if (!this.inBounds(ptr >>> 0, len >>> 0)) return undefined;
    return this.memU8.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  private str(ptr: number, len: number): string | undefined {
    const v = this.view(ptr, len);
    return v === undefined ? undefined : dec.decode(v);
  }

  private setU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr >>> 0, 4)) return false;
    this.memDv.setUint32(ptr >>> 0, value >>> 0, true);
    return true;
  }

  private setU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr >>> 0, 8)) return false;
    this.memDv.setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
    return true;
  }

  /** Copy bytes into memory allocated by the guest (malloc / proxy_on_memory_allocate). */
  private copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): number {
    let addr = 0;
    if (bytes.length > 0) {
      let a: number | undefined;
      try {
        a = this.malloc(bytes.length);
      } catch (err) {
        this.crash(err, "malloc");
        throw err;
      }
      addr = (a ?? 0) >>> 0;
      if (!addr || !this.inBounds(addr, bytes.length)) return WasmResult.InvalidMemoryAccess;
      this.memU8.set(bytes, addr);
    }
    if (!this.setU32(ptrPtr, addr) || !this.setU32(sizePtr, bytes.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }

  /**
   * Header pairs serialized straight into guest memory (Envoy's marshalPairs
   * layout). Hot path (once per request): all keys and values are joined into
   * one string and written with a single native UTF-8 write; for all-ASCII
   * headers (the norm) the per-string byte lengths are the string lengths.
   */
  private copyPairsOut(pairs: readonly HeaderPair[], ptrPtr: number, sizePtr: number): number {
    const n = pairs.length;
    // Envoy hands out an empty map as ptr 0 / size 0 (copyToPointerSize("")).
    if (n === 0) return this.setU32(ptrPtr, 0) && this.setU32(sizePtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    let joined = "";
    for (let i = 0; i < n; i++) {
      const pair = pairs[i]!;
      joined += pair[0] + "\0" + pair[1] + "\0";
    }
    const dataBytes = Buffer.byteLength(joined, "utf8");
    const ascii = dataBytes === joined.length;
    const size = 4 + n * 8 + dataBytes;
    let a: number | undefined;
    try {
      a = this.malloc(size);
    } catch (err) {
      this.crash(err, "malloc");
      throw err;
    }
    const addr = (a ?? 0) >>> 0;
    if (!addr || !this.inBounds(addr, size)) return WasmResult.InvalidMemoryAccess;
    const dv = this.memDv;
    dv.setUint32(addr, n, true);
    let p = addr + 4;
    for (let i = 0; i < n; i++) {
      const pair = pairs[i]!;
      dv.setUint32(p, ascii ? pair[0].length : Buffer.byteLength(pair[0], "utf8"), true);
      dv.setUint32(p + 4, ascii ? pair[1].length : Buffer.byteLength(pair[1], "utf8"), true);
      p += 8;
    }
    utf8Write(this.memBuf, joined, p);
    if (!this.setU32(ptrPtr, addr) || !this.setU32(sizePtr, size)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }

  // --------------------------------------------------------------- contexts

  /** Envoy's contextOrEffectiveContext(). */
  private context(): Context | undefined {
    if (this.effectiveContext) {
      const c = this.contexts.get(this.effectiveContext);
      if (c) return c;
    }
    return this.contexts.get(this.currentContext);
  }

  private headerMap(type: number): HeaderPair[] | undefined {
    const c = this.context();
    const s = c?.stream;
    switch (type) {
      case HeaderMapType.RequestHeaders:
        return s?.requestHeaders;
      case HeaderMapType.RequestTrailers:
        return s?.requestTrailers;
      case HeaderMapType.ResponseHeaders:
        return s?.responseHeaders;
      case HeaderMapType.ResponseTrailers:
        return s?.responseTrailers;
      case HeaderMapType.GrpcReceiveInitialMetadata:
        return this.grpcInitialMetadata;
      case HeaderMapType.GrpcReceiveTrailingMetadata:
        return this.grpcTrailingMetadata;
      default:
        return undefined;
    }
  }

  private setHeaderMap(type: number, pairs: HeaderPair[]): boolean {
    const s = this.context()?.stream;
    if (!s) return false;
    switch (type) {
      case HeaderMapType.RequestHeaders:
        s.requestHeaders = pairs;
        return true;
      case HeaderMapType.RequestTrailers:
        s.requestTrailers = pairs;
        return true;
      case HeaderMapType.ResponseHeaders:
        if (!s.responseHeaders) return false;
        s.responseHeaders = pairs;
        return true;
      case HeaderMapType.ResponseTrailers:
        s.responseTrailers = pairs;
        return true;
      default:
        return false;
    }
  }

  private buffer(type: number): Uint8Array | undefined {
    switch (type) {
      case BufferType.PluginConfiguration:
        return this.pluginConfig;
      case BufferType.VmConfiguration:
        return this.vmConfig;
      case BufferType.GrpcReceiveBuffer:
        return this.grpcReceiveBuffer;
      default:
        return undefined;
    }
  }

  // ------------------------------------------------------------------ ticks

  private setTick(rootId: number, ms: number): void {
    const old = this.tickTimers.get(rootId);
    if (old) clearTimeout(old);
    this.tickTimers.delete(rootId);
    if (ms <= 0 || this.closed) {
      this.tickPeriod.delete(rootId);
      return;
    }
    this.tickPeriod.set(rootId, ms);
    this.armTick(rootId);
  }

  private armTick(rootId: number): void {
    const ms = this.tickPeriod.get(rootId);
    if (!ms || this.closed) return;
    const t = setTimeout(() => {
      this.tickTimers.delete(rootId);
      this.callGuest(rootId, "proxy_on_tick", rootId);
      // Re-armed after the callback, like Envoy's timer (unless it changed the period itself).
      if (!this.tickTimers.has(rootId)) this.armTick(rootId);
    }, ms);
    this.tickTimers.set(rootId, t);
  }

  // ------------------------------------------------------------------- gRPC

  private grpcClient(address: string): grpc.Client {
    let c = this.grpcClients.get(address);
    if (!c) {
      // Envoy connects to a cluster on demand; keep grpc-js's reconnect backoff short to match.
      c = new grpc.Client(address, grpc.credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        "grpc.enable_retries": 0,
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      });
      this.grpcClients.set(address, c);
    }
    return c;
  }

  private openGrpcStream(
    service: Uint8Array,
    serviceName: string,
    method: string,
    metadataPairs: HeaderPair[],
  ): { token: number } | { error: number } {
    const ref = parseGrpcService(service);
    const address =
      ref.targetUri ??
      (ref.cluster !== undefined ? (this.options.clusters?.[ref.cluster] ?? this.options.defaultCluster) : undefined);
    if (!address) {
      this.logger.warn({ cluster: ref.cluster }, "proxy_grpc_stream: unknown cluster");
      return { error: WasmResult.ParseFailure };
    }
    const ctx = this.context();
    if (!ctx) return { error: WasmResult.BadArgument };
    // Envoy: gRPC callouts belong to the root context of the calling context.
    const owner = ctx.rootId;
    const md = new grpc.Metadata();
    for (const [k, v] of [...ref.initialMetadata, ...metadataPairs]) {
      try {
        if (k.endsWith("-bin")) md.add(k, Buffer.from(v, "base64"));
        else md.add(k, v);
      } catch {
        this.logger.warn({ key: k }, "proxy_grpc_stream: initial metadata entry refused");
      }
    }
    const token = this.nextGrpcToken;
    this.nextGrpcToken += METRIC_TYPE_MASK + 1;
    const identity = (b: Buffer) => b;
    let call: grpc.ClientDuplexStream<Buffer, Buffer>;
    try {
      call = this.grpcClient(address).makeBidiStreamRequest(`/${serviceName}/${method}`, identity, identity, md);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, address }, "proxy_grpc_stream: cannot start the call");
      return { error: WasmResult.InternalFailure };
    }
    const st: GrpcStreamState = { token, contextId: owner, call, localClosed: false };
    this.grpcStreams.set(token, st);
    call.on("metadata", (m: grpc.Metadata) => {
      if (this.grpcStreams.get(token) !== st) return;
      this.grpcInitialMetadata = metadataPairsOf(m);
      this.callGuest(st.contextId, "proxy_on_grpc_receive_initial_metadata", st.contextId, token, this.grpcInitialMetadata.length);
      this.grpcInitialMetadata = undefined;
    });
    call.on("data", (msg: Buffer) => {
      if (this.grpcStreams.get(token) !== st) return;
      this.grpcReceiveBuffer = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      this.callGuest(st.contextId, "proxy_on_grpc_receive", st.contextId, token, msg.byteLength);
      this.grpcReceiveBuffer = undefined;
    });
    call.on("error", () => {
      /* reported through "status" */
    });
    call.on("status", (s: grpc.StatusObject) => {
      if (this.grpcStreams.get(token) !== st) return;
      this.grpcStreams.delete(token);
      const trailers = metadataPairsOf(s.metadata);
      if (trailers.length > 0) {
        this.grpcTrailingMetadata = trailers;
        this.callGuest(st.contextId, "proxy_on_grpc_receive_trailing_metadata", st.contextId, token, trailers.length);
        this.grpcTrailingMetadata = undefined;
      }
      this.status = { code: s.code, message: s.details ?? "" };
      this.callGuest(st.contextId, "proxy_on_grpc_close", st.contextId, token, s.code);
      this.status = { code: 0, message: "" };
    });
    return { token };
  }

  private cancelGrpc(st: GrpcStreamState): void {
    this.grpcStreams.delete(st.token);
    st.call.removeAllListeners("metadata");
    st.call.removeAllListeners("data");
    st.call.removeAllListeners("status");
    st.call.on("error", () => {});
    st.call.cancel();
  }

  private cancelStreamsOf(contextId: number): void {
    for (const st of [...this.grpcStreams.values()]) if (st.contextId === contextId) this.cancelGrpc(st);
  }

  // ---------------------------------------------------------- host imports

  private imports(): WebAssembly.Imports {
    const env: Record<string, (...a: any[]) => number | void> = {};
    const R = WasmResult;

    env.proxy_log = (level: number, ptr: number, size: number) => {
      if (level >>> 0 > LogLevel.critical) return R.BadArgument;
      const msg = this.str(ptr, size);
      if (msg === undefined) return R.InvalidMemoryAccess;
      logAt(this.logger, level, { wasm: true, context: this.context()?.id, worker: this.options.worker }, msg);
      return R.Ok;
    };
    env.proxy_get_log_level = (ptr: number) => (this.setU32(ptr, this.hostLogLevel) ? R.Ok : R.InvalidMemoryAccess);

    env.proxy_get_status = (codePtr: number, msgPtrPtr: number, msgSizePtr: number) => {
      if (!this.setU32(codePtr, this.status.code)) return R.InvalidMemoryAccess;
      return this.copyOut(enc.encode(this.status.message), msgPtrPtr, msgSizePtr);
    };

    env.proxy_get_property = (pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) => {
      const p = this.view(pathPtr, pathSize);
      if (!p) return R.InvalidMemoryAccess;
      const tokens = splitPath(p);
      const value = this.property(tokens);
      if (value === undefined) return R.NotFound;
      const bytes = serializeProperty(value);
      if (bytes === undefined) return R.SerializationFailure;
      return this.copyOut(bytes, valuePtrPtr, valueSizePtr);
    };
    env.proxy_set_property = (kp: number, ks: number, vp: number, vs: number) => {
      const k = this.view(kp, ks);
      const v = this.view(vp, vs);
      if (!k || !v) return R.InvalidMemoryAccess;
      // Envoy stores these as filter state; we keep them per VM under their path.
      this.properties[splitPath(k).join(".")] = v.slice();
      return R.Ok;
    };

    env.proxy_send_local_response = (
      code: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      hdrPtr: number,
      hdrSize: number,
      grpcStatus: number,
    ) => {
      const s = this.context()?.stream;
      if (!s) return R.BadArgument;
      const details = this.str(detailsPtr, detailsSize);
      const body = this.view(bodyPtr, bodySize);
      const hb = this.view(hdrPtr, hdrSize);
      if (details === undefined || !body || !hb) return R.InvalidMemoryAccess;
      // Malformed pairs count as none (cpp-host toPairs).
      const headers = decodePairs(hb) ?? [];
      const gs = grpcStatus >>> 0;
      const response: LocalResponse = {
        status: code >>> 0,
        headers: headers.map(([k, v]) => [k.toLowerCase(), v]),
        body: body.slice(),
        details,
        grpcStatus: gs === GRPC_STATUS_UNSET ? undefined : gs,
      };
      // Envoy defers the reply until the VM call returns.
      this.afterCall.push(() => {
        if (s.phase === "ended" || s.phase === "local") return;
        const wasResponse = s.phase === "response" || s.phase === "response_paused";
        s.phase = "local";
        s.localResponse = response;
        if (wasResponse) s.settleResponse({ kind: "local_response", response });
        else s.settle({ kind: "local_response", response });
      });
      return R.Ok;
    };

    env.proxy_continue_stream = (type: number) => {
      const c = this.context();
      const s = c?.stream;
      if (!s) return R.BadArgument;
      if (type !== StreamType.Request && type !== StreamType.Response) return R.BadArgument;
      this.afterCall.push(() => {
        if (type === StreamType.Request && (s.phase === "paused" || s.phase === "request")) {
          s.phase = "forwarded";
          s.settle({ kind: "continued", requestHeaders: s.requestHeaders });
        } else if (type === StreamType.Response && s.phase === "response_paused") {
          s.phase = "response";
          if (s.pausedAt) {
            s.pausedMs += performance.now() - s.pausedAt;
            s.pausedAt = 0;
          }
          s.settleResponse({ kind: "continued", status: s.status, headers: s.responseHeaders ?? [] });
        }
      });
      return R.Ok;
    };
    env.proxy_close_stream = (type: number) => {
      const s = this.context()?.stream;
      if (!s) return R.BadArgument;
      if (type !== StreamType.Request && type !== StreamType.Response) return R.BadArgument;
      // Envoy resets the stream.
      this.afterCall.push(() => s.finish());
      return R.Ok;
    };

    env.proxy_set_effective_context = (id: number) => {
      if (!this.contexts.has(id >>> 0)) {
        this.stats.staleContextCalls++;
        return R.BadArgument;
      }
      this.effectiveContext = id >>> 0;
      return R.Ok;
    };
    env.proxy_done = () => {
      const c = this.context();
      if (!c || c.id !== this.rootContextId) return R.NotFound;
      this.rootDone = true;
      this.rootDoneWaiter?.();
      return R.Ok;
    };

    env.proxy_set_tick_period_milliseconds = (ms: number) => {
      const c = this.context();
      if (!c) return R.BadArgument;
      this.setTick(c.rootId, ms >>> 0);
      return R.Ok;
    };
    env.proxy_get_current_time_nanoseconds = (ptr: number) => {
      const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      return this.setU64(ptr, ns) ? R.Ok : R.InvalidMemoryAccess;
    };

    // Header maps.
    env.proxy_get_header_map_pairs = (type: number, ptrPtr: number, sizePtr: number) => {
      const m = this.headerMap(type);
      if (!m) return R.BadArgument;
      return this.copyPairsOut(m, ptrPtr, sizePtr);
    };
    env.proxy_set_header_map_pairs = (type: number, ptr: number, size: number) => {
      const b = this.view(ptr, size);
      if (!b) return R.InvalidMemoryAccess;
      const pairs = decodePairs(b) ?? [];
      return this.setHeaderMap(type, pairs.map(([k, v]) => [k.toLowerCase(), v])) ? R.Ok : R.BadArgument;
    };
    env.proxy_get_header_map_size = (type: number, resultPtr: number) => {
      const m = this.headerMap(type);
      if (!m) return R.BadArgument;
      let size = 0;
      for (const [k, v] of m) size += Buffer.byteLength(k) + Buffer.byteLength(v);
      return this.setU32(resultPtr, size) ? R.Ok : R.InvalidMemoryAccess;
    };
    env.proxy_get_header_map_value = (type: number, kp: number, ks: number, vpp: number, vsp: number) => {
      const m = this.headerMap(type);
      if (!m) return R.BadArgument;
      const key = this.str(kp, ks);
      if (key === undefined) return R.InvalidMemoryAccess;
      const v = getHeader(m, key.toLowerCase());
      if (v === undefined) return R.NotFound;
      return this.copyOut(enc.encode(v), vpp, vsp);
    };
    const mutate = (type: number, fn: (m: HeaderPair[]) => HeaderPair[]): number => {
      const m = this.headerMap(type);
      if (!m || type > HeaderMapType.ResponseTrailers) return R.BadArgument;
      return this.setHeaderMap(type, fn(m)) ? R.Ok : R.BadArgument;
    };
    env.proxy_add_header_map_value = (type: number, kp: number, ks: number, vp: number, vs: number) => {
      const k = this.str(kp, ks);
      const v = this.str(vp, vs);
      if (k === undefined || v === undefined) return R.InvalidMemoryAccess;
      return mutate(type, (m) => [...m, [k.toLowerCase(), v]]);
    };
    env.proxy_replace_header_map_value = (type: number, kp: number, ks: number, vp: number, vs: number) => {
      const k = this.str(kp, ks);
      const v = this.str(vp, vs);
      if (k === undefined || v === undefined) return R.InvalidMemoryAccess;
      const key = k.toLowerCase();
      return mutate(type, (m) => {
        const i = m.findIndex(([n]) => n === key);
        if (i < 0) return [...m, [key, v]];
        return m.filter(([n], j) => n !== key || j === i).map((p, j) => (j === i ? [key, v] : p)) as HeaderPair[];
      });
    };
    env.proxy_remove_header_map_value = (type: number, kp: number, ks: number) => {
      const k = this.str(kp, ks);
      if (k === undefined) return R.InvalidMemoryAccess;
      const key = k.toLowerCase();
      return mutate(type, (m) => m.filter(([n]) => n !== key));
    };

    // Buffers.
    env.proxy_get_buffer_status = (type: number, lengthPtr: number, flagsPtr: number) => {
      const b = this.buffer(type);
      if (!b) return R.NotFound;
      if (!this.setU32(lengthPtr, b.length) || !this.setU32(flagsPtr, 0)) return R.InvalidMemoryAccess;
      return R.Ok;
    };
    env.proxy_get_buffer_bytes = (type: number, start: number, length: number, ptrPtr: number, sizePtr: number) => {
      const b = this.buffer(type);
      if (!b) return R.NotFound;
      start >>>= 0;
      length >>>= 0;
      if (start + length > 0xffffffff) return R.BadArgument;
      if (start > b.length) start = b.length;
      if (start + length > b.length) length = b.length - start;
      if (length === 0) {
        // Envoy leaves the out-params untouched for an empty read; write nulls for safety.
        return this.setU32(ptrPtr, 0) && this.setU32(sizePtr, 0) ? R.Ok : R.InvalidMemoryAccess;
      }
      return this.copyOut(b.subarray(start, start + length), ptrPtr, sizePtr);
    };
    env.proxy_set_buffer_bytes = () => R.BadArgument; // no writable buffer (bodies are not exposed)

    // Metrics.
    env.proxy_define_metric = (type: number, np: number, ns: number, resultPtr: number) => {
      const name = this.str(np, ns);
      if (name === undefined) return R.InvalidMemoryAccess;
      const kind: MetricKind | undefined = (["counter", "gauge", "histogram"] as const)[type];
      if (!kind) return R.BadArgument;
      const key = `${kind}:${name}`;
      let id = this.metricIdByName.get(key);
      if (id === undefined) {
        // Envoy pre-increments (first counter id 4, gauge 5, histogram 6): id 0 is never a metric.
        id = this.nextMetricId[kind] += METRIC_ID_INCREMENT;
        this.metricIdByName.set(key, id);
        this.metricIds.set(id, this.metricStore.define(name, kind));
      }
      return this.setU32(resultPtr, id) ? R.Ok : R.InvalidMemoryAccess;
    };
    env.proxy_increment_metric = (id: number, offset: bigint) => {
      const m = this.metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      if (m.kind === "counter") {
        // Envoy: counters only go up, and by a positive amount.
        if (offset <= 0n) return R.BadArgument;
        m.value += offset;
      } else if (m.kind === "gauge") {
        m.value += offset;
      } else {
        return R.BadArgument;
      }
      return R.Ok;
    };
    env.proxy_record_metric = (id: number, value: bigint) => {
      const m = this.metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      const v = BigInt.asUintN(64, value);
      if (m.kind === "counter") m.value += v;
      else if (m.kind === "gauge") m.value = v;
      else {
        m.value += 1n;
        m.sum += v;
      }
      return R.Ok;
    };
    env.proxy_get_metric = (id: number, resultPtr: number) => {
      const m = this.metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      if (m.kind === "histogram") return R.BadArgument;
      return this.setU64(resultPtr, m.value) ? R.Ok : R.InvalidMemoryAccess;
    };

    // gRPC.
    env.proxy_grpc_stream = (
      sp: number,
      ss: number,
      snp: number,
      sns: number,
      mp: number,
      ms: number,
      mdp: number,
      mds: number,
      tokenPtr: number,
    ) => {
      const service = this.view(sp, ss)?.slice();
      const serviceName = this.str(snp, sns);
      const method = this.str(mp, ms);
      const mdBytes = this.view(mdp, mds);
      if (!service || serviceName === undefined || method === undefined || !mdBytes) return R.InvalidMemoryAccess;
      const md = decodePairs(mdBytes) ?? [];
      if (!this.inBounds(tokenPtr >>> 0, 4)) return R.InvalidMemoryAccess;
      const r = this.openGrpcStream(service, serviceName, method, md);
      if ("error" in r) return r.error;
      this.setU32(tokenPtr, r.token);
      return R.Ok;
    };
    env.proxy_grpc_send = (token: number, mp: number, ms: number, endStream: number) => {
      const st = this.grpcStreams.get(token >>> 0);
      if (!st) return R.NotFound;
      const msg = this.view(mp, ms);
      if (!msg) return R.InvalidMemoryAccess;
      // Envoy accepts the call but nothing more goes out after a half-close.
      if (st.localClosed) return R.Ok;
      const copy = Buffer.from(msg);
      this.options.onGrpcSend?.(copy, st.token);
      try {
        st.call.write(copy);
        if (endStream) {
          st.localClosed = true;
          st.call.end();
        }
      } catch {
        // The call is already finishing; its status arrives through proxy_on_grpc_close.
        return R.BrokenConnection;
      }
      return R.Ok;
    };
    env.proxy_grpc_close = (token: number) => {
      const st = this.grpcStreams.get(token >>> 0);
      if (!st) return R.NotFound;
      // Half-close; the remote status still arrives through proxy_on_grpc_close.
      if (!st.localClosed) {
        st.localClosed = true;
        st.call.end();
      }
      return R.Ok;
    };
    env.proxy_grpc_cancel = (token: number) => {
      const st = this.grpcStreams.get(token >>> 0);
      if (!st) return R.NotFound;
      this.cancelGrpc(st);
      return R.Ok;
    };

    // Linked by Envoy but not available in this host (documented in docs/host.md).
    const unimplemented = (name: string) => () => {
      this.logger.warn({ fn: name }, "host function not implemented by the HFI host");
      return R.Unimplemented;
    };
    for (const n of [
      "proxy_get_shared_data",
      "proxy_set_shared_data",
      "proxy_register_shared_queue",
      "proxy_resolve_shared_queue",
      "proxy_dequeue_shared_queue",
      "proxy_enqueue_shared_queue",
      "proxy_http_call",
      "proxy_grpc_call",
      "proxy_call_foreign_function",
    ]) {
      env[n] = unimplemented(n);
    }
    env.pthread_equal = (a: number, b: number) => (a === b ? 1 : 0);
    env.emscripten_notify_memory_growth = () => {};

    const wasi = this.wasiImports();
    const all: WebAssembly.Imports = { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi };
    // Only hand over what the module imports: strictness was checked already.
    const needed: WebAssembly.Imports = {};
    for (const imp of this.checked.info.imports) {
      const mod = (needed[imp.module] ??= {}) as Record<string, WebAssembly.ImportValue>;
      const fn = (all[imp.module] as Record<string, (...a: any[]) => number | void>)[imp.name]!;
      const full = `${imp.module}.${imp.name}`;
      const isWasi = imp.module !== "env";
      const allowedAtStart = START_ALLOWED_IMPORTS.has(full);
      // Fixed arity (max 12 params in the ABI) instead of rest/spread: this is on the hot path.
      mod[imp.name] = (a0: any, a1: any, a2: any, a3: any, a4: any, a5: any, a6: any, a7: any, a8: any, a9: any, a10: any, a11: any) => {
        if (this.restricted && !allowedAtStart) {
          this.logger.error({ fn: full }, "Attempted call to a restricted capability during VM start");
          return isWasi ? 76 : R.InternalFailure;
        }
        if (!this.measureGuest) return fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
        const t0 = performance.now();
        try {
          return fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
        } finally {
          this.stats.hostInGuestMs += performance.now() - t0;
        }
      };
    }
    return needed;
  }

  private wasiImports(): Record<string, (...a: any[]) => number | void> {
    // errno values as cpp-host returns them.
    const ENOSYS = 52;
    const EBADF = 8;
    const EFAULT = 21; // bad guest pointers
    const ENOTSUP = 58;
    return {
      fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
        if (fd !== 1 && fd !== 2) return EBADF;
        let total = 0;
        let text = "";
        for (let i = 0; i < iovsLen; i++) {
          if (!this.inBounds(iovs + i * 8, 8)) return EFAULT;
          const p = this.memDv.getUint32(iovs + i * 8, true);
          const l = this.memDv.getUint32(iovs + i * 8 + 4, true);
          const s = this.str(p, l);
          if (s === undefined) return EFAULT;
          text += s;
          total += l;
        }
        // Envoy logs guest stdout at info and stderr at error.
        logAt(this.logger, fd === 1 ? LogLevel.info : LogLevel.error, { wasm: true, fd }, text.replace(/\n$/, ""));
        return this.setU32(nwrittenPtr, total) ? 0 : EFAULT;
      },
      fd_read: () => ENOSYS,
      fd_seek: () => ENOSYS,
      fd_close: () => ENOSYS,
      fd_fdstat_get: (fd: number, statPtr: number) => {
        if (fd !== 1 && fd !== 2) return EBADF;
        if (!this.inBounds(statPtr, 24)) return EFAULT;
        // As cpp-host: zeroed, fs_rights_base = FD_WRITE (64).
        this.memU8.fill(0, statPtr, statPtr + 24);
        this.memDv.setBigUint64(statPtr + 8, 64n, true);
        return 0;
      },
      environ_get: () => 0,
      environ_sizes_get: (countPtr: number, sizePtr: number) =>
        this.setU32(countPtr, 0) && this.setU32(sizePtr, 0) ? 0 : EFAULT,
      args_get: () => 0,
      args_sizes_get: (argcPtr: number, sizePtr: number) => (this.setU32(argcPtr, 0) && this.setU32(sizePtr, 0) ? 0 : EFAULT),
      clock_time_get: (id: number, _precision: bigint, resultPtr: number) => {
        // 0 realtime, 1 monotonic; cpu-time clocks are ENOTSUP in cpp-host.
        if (id !== 0 && id !== 1) return ENOTSUP;
        const ns = id === 0 ? BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) : process.hrtime.bigint();
        return this.setU64(resultPtr, ns) ? 0 : EFAULT;
      },
      random_get: (ptr: number, len: number) => {
        const v = this.view(ptr, len);
        if (!v) return EFAULT;
        crypto.randomFillSync(v);
        return 0;
      },
      proc_exit: (code: number) => {
        // Envoy treats proc_exit as a fatal VM error.
        throw new Error(`wasm called proc_exit(${code})`);
      },
      path_open: () => ENOSYS,
      fd_prestat_get: () => EBADF,
      fd_prestat_dir_name: () => ENOSYS,
    };
  }

  private property(tokens: string[]): PropertyValue {
    if (tokens.length === 0) return undefined;
    const [head, ...rest] = tokens;
    const s = this.context()?.stream;
    if (head === "request" && s) return lookupPath(requestProperties(s), rest);
    if (head === "response" && s) return lookupPath(responseProperties(s), rest);
    const joined = tokens.join(".");
    if (rest.length === 0 || !(head! in this.properties)) {
      if (joined in this.properties) return this.properties[joined];
    }
    return lookupPath(this.properties, tokens);
  }
}

/** Node's native UTF-8 write (Buffer#utf8Write, faster than buf.write's argument handling). */
const nativeUtf8Write = (Buffer.prototype as unknown as { utf8Write?: (s: string, offset: number) => number }).utf8Write;
function utf8Write(buf: Buffer, s: string, offset: number): number {
  return nativeUtf8Write ? nativeUtf8Write.call(buf, s, offset) : buf.write(s, offset, "utf8");
}

function requestProperties(s: HttpStream): Record<string, PropertyValue> {
  const h = s.requestHeaders;
  const path = getHeader(h, ":path") ?? "";
  const q = path.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of h) if (!k.startsWith(":")) headers[k] = k in headers ? `${headers[k]},${v}` : v;
  return {
    path,
    url_path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? "" : path.slice(q + 1),
    host: getHeader(h, ":authority") ?? "",
    scheme: getHeader(h, ":scheme") ?? "",
    method: getHeader(h, ":method") ?? "",
    headers,
    id: getHeader(h, "x-request-id") ?? "",
    protocol: "HTTP/1.1",
  };
}

function responseProperties(s: HttpStream): Record<string, PropertyValue> | undefined {
  if (!s.responseHeaders) return undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of s.responseHeaders) if (!k.startsWith(":")) headers[k] = v;
  return { code: BigInt(Number(getHeader(s.responseHeaders, ":status") ?? 0)), headers };
}

function metadataPairsOf(m: grpc.Metadata | undefined): HeaderPair[] {
  if (!m) return [];
  const out: HeaderPair[] = [];
  for (const [k, vs] of Object.entries(m.toJSON())) {
    for (const v of vs) out.push([k, typeof v === "string" ? v : Buffer.from(v).toString("base64")]);
  }
  return out;
}

function isChecked(x: unknown): x is CheckedModule {
  return typeof x === "object" && x !== null && "module" in x && "info" in x;
}

/** The response Envoy sends for a local reply (sendLocalReply), gRPC-aware. */
export function localResponseHeaders(
  r: LocalResponse,
  isGrpcRequest: boolean,
): { status: number; headers: HeaderPair[]; body: Uint8Array } {
  if (isGrpcRequest) {
    // gRPC requests get a trailers-only response: HTTP 200, grpc-status, grpc-message.
    const gs = r.grpcStatus ?? httpToGrpcStatus(r.status);
    const headers: HeaderPair[] = [["content-type", "application/grpc"], ["grpc-status", String(gs)]];
    if (r.body.length) headers.push(["grpc-message", encodeURIComponent(dec.decode(r.body))]);
    for (const h of r.headers) headers.push(h);
    return { status: 200, headers, body: EMPTY };
  }
  const headers: HeaderPair[] = [];
  if (r.body.length) headers.push(["content-type", "text/plain"]);
  for (const h of r.headers) {
    const i = headers.findIndex(([k]) => k === h[0]);
    if (i >= 0 && h[0] === "content-type") headers[i] = h;
    else headers.push(h);
  }
  headers.push(["content-length", String(r.body.length)]);
  return { status: r.status, headers, body: r.body };
}
