// One proxy-wasm VM (one Envoy worker's plugin instance) on Node's
// WebAssembly: the context lifecycle in Envoy's callback order (start,
// streams, shutdown, crash). The host functions live in imports/ (one
// module per group: header maps, buffers, gRPC, ticks, metrics, WASI, ...),
// linked by link.ts; they see the VM only through HostEnv (host-env.ts).
import fs from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { FilterHeadersStatus, LogLevel, WasmResult as R } from "./abi.ts";
import { checkModule, type CheckedModule } from "./strict.ts";
import type { HeaderPair } from "./pairs.ts";
import type { PropertyValue } from "./properties.ts";
import type { DownstreamPeer } from "./peer.ts";
import { MetricStore } from "./metrics.ts";
import { defaultLogger, levelOf, type HostLogger } from "./logger.ts";
import { GuestMemory } from "./guest-memory.ts";
import { getHeader } from "./headers.ts";
import { HttpStream, runRequest, type RequestInit, type RequestResult, type ResponseDecision, type StreamOwner } from "./http-stream.ts";
import type { Context, HostEnv, ImportTable } from "./host-env.ts";
import type { HostStats, VmOptions } from "./options.ts";
import { logImports } from "./imports/log.ts";
import { headerMapImports } from "./imports/header-maps.ts";
import { bufferImports, propertyImports } from "./imports/buffers.ts";
import { streamControlImports } from "./imports/stream-control.ts";
import { GrpcStreams } from "./imports/grpc/streams.ts";
import { TickTimers } from "./imports/ticks.ts";
import { metricImports } from "./imports/metrics.ts";
import { wasiImports } from "./imports/wasi.ts";
import { envoyOnlyImports } from "./imports/unimplemented.ts";
import { instantiate, link, type GuestFunction } from "./link.ts";

// The host's public API, importable from here as before the split.
export type { NodeInfo, VmOptions, HostStats } from "./options.ts";
export type { HeadersInit } from "./headers.ts";
export { getHeader, toPairs, pairsToRecord } from "./headers.ts";
export { localResponseHeaders, type LocalResponse } from "./local-reply.ts";
export { HttpStream, type RequestInit, type RequestResult, type StreamDecision, type ResponseDecision } from "./http-stream.ts";

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

function toBytes(v: string | Uint8Array | undefined): Uint8Array {
  if (v === undefined) return EMPTY;
  return typeof v === "string" ? enc.encode(v) : v;
}

function isChecked(x: unknown): x is CheckedModule {
  return typeof x === "object" && x !== null && "module" in x && "info" in x;
}

export class WasmVm implements HostEnv, StreamOwner {
  readonly metricStore: MetricStore;
  readonly logger: HostLogger;
  readonly stats: HostStats = { crashes: 0, staleContextCalls: 0, guestMs: 0, guestCalls: 0, hostInGuestMs: 0 };
  /** Set when the VM crashed (trap or proc_exit); no guest code runs afterwards. */
  failure: Error | undefined;
  /** Measure guest time per callback (costs two performance.now() per call). */
  measureGuest = false;
  /** @internal True while the module initialises (Envoy restricts host calls then). */
  restricted = false;
  /** @internal */
  readonly mem = new GuestMemory((err) => this.crash(err, "malloc"));

  private memory!: WebAssembly.Memory;
  private exp: Record<string, GuestFunction> = {};
  private readonly contexts = new Map<number, Context>();
  private nextContextId = 1;
  private rootContextId = 0;
  private currentContext = 0;
  private effectiveContext = 0;
  private depth = 0;
  private afterCall: (() => void)[] = [];
  private readonly pluginConfig: Uint8Array;
  private readonly vmConfig: Uint8Array;
  private readonly ticks = new TickTimers((rootId) => this.callGuest(rootId, "proxy_on_tick", rootId));
  private readonly grpc = new GrpcStreams(this);
  private closed = false;
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
    const inst = await instantiate(checked, link(checked, vm.envImports(), wasiImports(vm.mem, vm.logger), vm));
    vm.memory = inst.memory;
    vm.exp = inst.exports;
    // The guest's allocator runs inside host calls (results the host hands over) but is guest
    // code: with timing on, its time is taken back out of the host's share.
    const malloc = inst.malloc;
    vm.mem.attach(inst.memory, (size: number) => {
      if (!vm.measureGuest) return malloc(size);
      const t0 = performance.now();
      try {
        return malloc(size);
      } finally {
        vm.stats.hostInGuestMs -= performance.now() - t0;
      }
    });
    vm.start();
    return vm;
  }

  private envImports(): ImportTable {
    return {
      ...logImports(this, this.hostLogLevel),
      ...propertyImports(this, this.properties),
      ...streamControlImports(this),
      ...this.contextImports(),
      ...this.ticks.imports(this),
      ...headerMapImports(this, this.grpc),
      ...bufferImports(this, { pluginConfig: this.pluginConfig, vmConfig: this.vmConfig, grpcReceiveBuffer: () => this.grpc.receiveBuffer }),
      ...metricImports(this, this.metricStore),
      ...this.grpc.imports(),
      ...envoyOnlyImports(this.logger),
    };
  }

  /** proxy_set_effective_context and proxy_done: they change this VM's context state. */
  private contextImports(): ImportTable {
    return {
      proxy_set_effective_context: (id: number) => {
        if (!this.contexts.has(id >>> 0)) {
          this.stats.staleContextCalls++;
          return R.BadArgument;
        }
        this.effectiveContext = id >>> 0;
        return R.Ok;
      },
      proxy_done: () => {
        const c = this.context();
        if (!c || c.id !== this.rootContextId) return R.NotFound;
        this.rootDone = true;
        this.rootDoneWaiter?.();
        return R.Ok;
      },
    };
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
    return this.ticks.periodOf(this.rootContextId);
  }

  /** Open gRPC streams (callouts) of this VM (remote side still open). */
  get grpcStreamCount(): number {
    return this.grpc.count;
  }

  /** gRPC stream handlers Envoy would hold for this VM (open ones and remote-closed ones the plugin never closed). */
  get grpcHandlerCount(): number {
    return this.grpc.handlerCount;
  }

  /** Remote-closed stream handlers the plugin never closed (Envoy keeps them with a stale stream pointer). */
  get staleGrpcHandlers(): number {
    return this.grpc.staleHandlers;
  }

  /** Stale handlers Envoy had to reset when their root context was deleted. */
  get leakedGrpcHandlers(): number {
    return this.grpc.stats.leakedGrpcHandlers;
  }

  // ---------------------------------------------------------------- calls in

  /** @internal Call a module export with Envoy's context bookkeeping; undefined if absent or it trapped. */
  callGuest(contextId: number, name: string, a?: number, b?: number, c?: number): number | undefined {
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

  /** @internal Envoy's after-VM-call actions: run once the outermost guest call returns. */
  defer(action: () => void): void {
    this.afterCall.push(action);
  }

  private runAfterCall(): void {
    while (this.afterCall.length) {
      const actions = this.afterCall;
      this.afterCall = [];
      for (const a of actions) a();
    }
  }

  /** @internal Envoy's contextOrEffectiveContext(). */
  context(): Context | undefined {
    if (this.effectiveContext) {
      const c = this.contexts.get(this.effectiveContext);
      if (c) return c;
    }
    return this.contexts.get(this.currentContext);
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
    s.failAfterCrash(this.options.failOpen ?? false);
  }

  // ----------------------------------------------------------- HTTP streams

  /**
   * Start a stream: proxy_on_context_create + proxy_on_request_headers.
   * `peer`: the downstream caller; `properties`: what Envoy's stream info holds from routing (e.g. xds.cluster_name), top-level tokens.
   */
  startStream(headers: HeaderPair[], endOfStream = true, peer?: DownstreamPeer, properties?: Record<string, PropertyValue>): HttpStream {
    if (this.closed) throw new Error("VM is closed");
    const id = this.nextContextId++;
    const stream = new HttpStream(this, id, headers, peer);
    if (properties) stream.properties = properties;
    this.contexts.set(id, { id, rootId: this.rootContextId, stream });
    if (this.failure) {
      this.failStream(stream);
      return stream;
    }
    this.callGuest(id, "proxy_on_context_create", id, this.rootContextId);
    let r = this.callGuest(id, "proxy_on_request_headers", id, headers.length, endOfStream ? 1 : 0);
    // proxy-wasm-cpp-host: without allow_on_headers_stop_iteration a StopIteration becomes stop-all.
    if (r === FilterHeadersStatus.StopIteration && !this.options.allowOnHeadersStopIteration) r = FilterHeadersStatus.StopAllIterationAndWatermark;
    if (stream.settled) return stream; // local response sent from inside the callback
    if (this.failure) {
      this.failStream(stream);
    } else if (r === undefined || r === FilterHeadersStatus.Continue || r === FilterHeadersStatus.ContinueAndEndStream) {
      stream.phase = "forwarded";
      stream.settle({ kind: "continued", requestHeaders: stream.requestHeaders });
    } else {
      stream.phase = "paused";
      stream.headersStop = r;
      stream.pause();
    }
    return stream;
  }

  /** @internal proxy_on_request_body with the chunk as buffer 0 (a module without the export continues). */
  runRequestBody(s: HttpStream, data: Uint8Array, endOfStream: boolean): number {
    if (this.failure || !this.contexts.has(s.contextId) || !this.exp.proxy_on_request_body) return 0;
    s.bodyInCallback = data;
    try {
      return this.callGuest(s.contextId, "proxy_on_request_body", s.contextId, data.length, endOfStream ? 1 : 0) ?? 0;
    } finally {
      s.bodyInCallback = undefined;
    }
  }

  /** @internal proxy_on_response_body over s.response's buffer (a module without the export, or a failed VM, continues). */
  runResponseBody(s: HttpStream, size: number, endOfStream: boolean): number {
    if (this.failure || !this.contexts.has(s.contextId) || !this.exp.proxy_on_response_body) return 0;
    return this.callGuest(s.contextId, "proxy_on_response_body", s.contextId, size, endOfStream ? 1 : 0) ?? 0;
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
  request(init: RequestInit = {}): Promise<RequestResult> {
    return runRequest(this, init);
  }

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
    this.ticks.stop();
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
      this.grpc.cancelOwnedBy(this.rootContextId);
    }
    this.shutdownQuietly();
  }

  /**
   * Destroy without any callback into the guest, as proxy-wasm-cpp-host kills
   * its configuration canary: timers stop, gRPC streams are reset.
   */
  kill(): void {
    this.closed = true;
    for (const c of this.contexts.values()) if (c.stream) c.stream.settle({ kind: "reset" });
    this.contexts.clear();
    this.shutdownQuietly();
  }

  private shutdownQuietly(): void {
    this.closed = true;
    this.ticks.stop();
    this.grpc.closeAll();
  }
}
