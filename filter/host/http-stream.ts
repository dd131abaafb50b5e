// One HTTP stream (one stream context) going through the filter: its phase,
// headers and the filter's decision, plus request(), which runs a whole
// request/response through a VM without a network.
import { performance } from "node:perf_hooks";
import type { HeaderPair } from "./pairs.ts";
import { getHeader, pairsToRecord, toPairs, type HeadersInit } from "./headers.ts";
import { localResponseHeaders, type LocalResponse } from "./local-reply.ts";
import type { WasmVm } from "./vm.ts";

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

export type StreamDecision =
  | { kind: "continued"; requestHeaders: HeaderPair[] }
  | { kind: "local_response"; response: LocalResponse }
  | { kind: "reset" };

export type ResponseDecision =
  | { kind: "continued"; status: number; headers: HeaderPair[] }
  | { kind: "local_response"; response: LocalResponse };

type Phase = "request" | "paused" | "forwarded" | "response" | "response_paused" | "local" | "ended";

const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);
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

  /** @internal The VM crashed: let the request through (failOpen) or answer Envoy's FAIL_CLOSED 503. */
  failAfterCrash(failOpen: boolean): void {
    if (failOpen) {
      this.phase = "forwarded";
      this.settle({ kind: "continued", requestHeaders: this.requestHeaders });
    } else {
      this.phase = "local";
      this.localResponse = {
        status: 503,
        headers: [],
        body: EMPTY,
        details: CRASH_RESPONSE_DETAILS,
        grpcStatus: this.isGrpc ? 14 : undefined,
      };
      this.settle({ kind: "local_response", response: this.localResponse });
    }
  }

  /** The stream is over (or the client went away): proxy_on_done, proxy_on_log, proxy_on_delete. */
  finish(): void {
    this.vm.finishStream(this);
  }
}

/** Run a whole HTTP stream through the filter (no network): WasmVm.request(). */
export async function runRequest(vm: WasmVm, init: RequestInit): Promise<RequestResult> {
  const headers: HeaderPair[] = [
    [":method", init.method ?? "GET"],
    [":path", init.path ?? "/"],
    [":authority", init.authority ?? "localhost"],
    [":scheme", init.scheme ?? "http"],
    ...toPairs(init.headers).filter(([k]) => !k.startsWith(":")),
  ];
  const stream = vm.startStream(headers, !init.hasBody);
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
