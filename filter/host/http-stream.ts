// One HTTP stream (one stream context) going through the filter: its phase,
// headers and the filter's decision, plus request(), which runs a whole
// request/response through a VM without a network.
import { peerProperties, type DownstreamPeer, type PeerProperties } from "./peer.ts";
import { performance } from "node:perf_hooks";
import type { HeaderPair } from "./pairs.ts";
import { getHeader, pairsToRecord, toPairs, type HeadersInit } from "./headers.ts";
import { localResponseHeaders, type LocalResponse } from "./local-reply.ts";
import { ResponseBody } from "./response-body.ts";
import type { PropertyValue } from "./properties.ts";
import { joinBytes } from "./bytes.ts";

export interface RequestInit {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  headers?: HeadersInit;
  /** Whether a body follows the headers (end_of_stream=false); implied by `body`. */
  hasBody?: boolean;
  /** Request body, delivered through proxy_on_request_body in one chunk right after the headers. */
  body?: string | Uint8Array;
  /** The upstream answer used when the filter lets the request through (default 200, no headers). */
  response?: { status?: number; headers?: HeadersInit; body?: string };
  /** Aborting resets the stream (downstream disconnect): the filter sees done/log/delete. */
  signal?: AbortSignal;
  /** The downstream peer (mTLS principal, Istio peer metadata); none = plaintext from an unknown caller. */
  peer?: DownstreamPeer;
  /** Per-stream properties Envoy knows from routing (xds.cluster_name, ...), see StreamProperties. */
  properties?: Record<string, PropertyValue>;
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
  /** With a body: ms from the start until the filter let the whole body go upstream. */
  bodyReleasedMs?: number;
  /** With a body: what the filter let go upstream (the whole body, unless it was cut short). */
  upstreamBody?: Uint8Array;
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
const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** FilterHeadersStatus.StopIteration (abi.ts). */
const STOP_ITERATION = 1;

/** Envoy's FAIL_CLOSED answer when the plugin has crashed. */
const CRASH_RESPONSE_DETAILS = "wasm_fail_stream";

/** What a stream needs of the VM it runs in (the VM implements it; no import of vm.ts here). */
export interface StreamOwner {
  runResponseHeaders(s: HttpStream, status: number, headers: HeaderPair[], eos: boolean): Promise<ResponseDecision>;
  finishStream(s: HttpStream): void;
  /** Hands body bytes to proxy_on_request_body; returns the FilterDataStatus (0 = Continue). */
  runRequestBody(s: HttpStream, data: Uint8Array, endOfStream: boolean): number;
  /** Calls proxy_on_response_body (buffer 1 = s.responseBodyInCallback); returns the FilterDataStatus. */
  runResponseBody(s: HttpStream, size: number, endOfStream: boolean): number;
}

/** What runRequest() needs: a way to start a stream. */
export interface StreamStarter {
  startStream(headers: HeaderPair[], endOfStream?: boolean, peer?: DownstreamPeer, properties?: Record<string, PropertyValue>): HttpStream;
}

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
  /** The FilterHeadersStatus the request headers stopped with (after cpp-host's conversion), 0 if they continued. */
  headersStop = 0;
  /** @internal The body chunk proxy_on_request_body is looking at (buffer type 0), only during that call. */
  bodyInCallback: Uint8Array | undefined;
  /** Properties Envoy's stream info holds for this stream (xds.*, upstream.*, ...): top-level tokens. */
  properties: Record<string, PropertyValue> = {};
  /** The response body through proxy_on_response_body (Envoy's encodeData and buffering). */
  readonly response: ResponseBody;
  /** Body received but not yet let through by the filter. */
  private heldBody: Uint8Array | undefined;
  private heldEnd = false;
  private bodySeen = false;
  private bodyDone = false;
  private readonly startedAt = performance.now();
  /** ms from the start until the whole body passed the filter. */
  bodyReleasedMs: number | undefined;
  /** The request body bytes the filter let go upstream so far, in order. */
  forwardedBody: Uint8Array = EMPTY;
  private bodyWaiters: (() => void)[] = [];
  private decisionPromise: Promise<StreamDecision> | undefined;
  /** The decision once known (synchronously after start() unless paused). */
  settled: StreamDecision | undefined;
  private resolveDecision: ((d: StreamDecision) => void) | undefined;
  private responseWaiter: ((d: ResponseDecision) => void) | undefined;
  private responseStatus = 200;

  constructor(
    readonly vm: StreamOwner,
    readonly contextId: number,
    headers: HeaderPair[],
    /** Who is calling (downstream connection): connection.* and filter_state.downstream_peer properties. */
    readonly peer?: DownstreamPeer,
  ) {
    this.requestHeaders = headers;
    this.response = new ResponseBody(this, (size, eos) => vm.runResponseBody(this, size, eos));
  }

  private peerProps: PeerProperties | undefined;
  /** connection.* and filter_state.* of the peer: built on the first proxy_get_property that asks, then kept. */
  get peerProperties(): PeerProperties {
    return (this.peerProps ??= peerProperties(this.peer));
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

  /**
   * Request body bytes from downstream, as Envoy's decodeData: while the
   * headers are stopped with stop-all they are only buffered; otherwise the
   * filter sees them (proxy_on_request_body), and with a plain StopIteration
   * on the headers a Continue from the body callback resumes the request.
   */
  requestBody(data: Uint8Array, endOfStream: boolean): void {
    if (this.bodyDone || this.phase === "local" || this.phase === "ended") return;
    this.heldBody = this.heldBody ? joinBytes([this.heldBody, data]) : data;
    this.heldEnd ||= endOfStream;
    if (this.phase === "paused" && this.headersStop !== STOP_ITERATION) return; // stop-all: buffered
    this.deliverBody();
  }

  /** @internal The filter resumed the request (proxy_continue_stream): headers go, then the buffered body. */
  resumeRequest(): void {
    if (this.phase === "paused" || this.phase === "request") {
      this.phase = "forwarded";
      this.settle({ kind: "continued", requestHeaders: this.requestHeaders });
    } else if (this.phase !== "forwarded") {
      return;
    }
    if (!this.heldBody) return;
    // A body the filter already saw and held goes on; one buffered under stop-all is shown to it now.
    if (this.bodySeen) this.releaseBody();
    else this.deliverBody();
  }

  private deliverBody(): void {
    const data = this.heldBody ?? EMPTY;
    this.bodySeen = true;
    const r = this.vm.runRequestBody(this, data, this.heldEnd);
    if (this.phase === "local" || this.phase === "ended") return;
    if (r !== 0) return; // held (StopIteration*): until proxy_continue_stream
    if (this.phase === "paused") {
      // Envoy: a Continue from decodeData resumes a filter that stopped only its headers.
      this.phase = "forwarded";
      this.settle({ kind: "continued", requestHeaders: this.requestHeaders });
    }
    this.releaseBody();
  }

  private releaseBody(): void {
    if (this.heldBody) this.forwardedBody = joinBytes([this.forwardedBody, this.heldBody]);
    this.heldBody = undefined;
    this.bodySeen = false;
    if (!this.heldEnd) return;
    this.bodyDone = true;
    this.bodyReleasedMs = performance.now() - this.startedAt;
    for (const w of this.bodyWaiters.splice(0)) w();
  }

  /** Resolves once the whole request body has passed the filter (or the stream ended). */
  bodyReleased(): Promise<void> {
    if (this.bodyDone || this.phase === "ended" || this.phase === "local") return Promise.resolve();
    return new Promise((r) => this.bodyWaiters.push(r));
  }

  /**
   * Response body bytes (from upstream, or a local reply's body) go through
   * proxy_on_response_body; what the filter lets through goes to `sink`.
   */
  responseBody(data: Uint8Array, endOfStream: boolean): void {
    this.response.push(data, endOfStream);
  }

  /** The stream is over (or the client went away): proxy_on_done, proxy_on_log, proxy_on_delete. */
  finish(): void {
    this.vm.finishStream(this);
    for (const w of this.bodyWaiters.splice(0)) w();
  }
}

/** Run a whole HTTP stream through the filter (no network): WasmVm.request(). */
export async function runRequest(vm: StreamStarter, init: RequestInit): Promise<RequestResult> {
  const headers: HeaderPair[] = [
    [":method", init.method ?? "GET"],
    [":path", init.path ?? "/"],
    [":authority", init.authority ?? "localhost"],
    [":scheme", init.scheme ?? "http"],
    ...toPairs(init.headers).filter(([k]) => !k.startsWith(":")),
  ];
  const reqBody = typeof init.body === "string" ? enc.encode(init.body) : init.body;
  const stream = vm.startStream(headers, !init.hasBody && reqBody === undefined, init.peer, init.properties);
  if (reqBody !== undefined) stream.requestBody(reqBody, true);
  const onAbort = () => stream.finish();
  if (init.signal) {
    if (init.signal.aborted) stream.finish();
    else init.signal.addEventListener("abort", onAbort, { once: true });
  }
  try {
    const d = stream.settled ?? (await stream.decision);
    if (d.kind === "continued" && reqBody !== undefined) await stream.bodyReleased();
    if (d.kind === "reset") {
      return { kind: "reset", status: 0, headers: {}, body: "", pausedMs: stream.pausedMs, requestHeaders: stream.requestHeaders };
    }
    let upBody: Uint8Array;
    let rd: ResponseDecision;
    if (d.kind === "local_response") {
      const lr = localResponseHeaders(d.response, stream.isGrpc);
      rd = await stream.onResponse(lr.status, lr.headers, lr.body.length === 0);
      upBody = lr.body;
    } else {
      const up = init.response ?? {};
      upBody = enc.encode(up.body ?? "");
      rd = await stream.onResponse(up.status ?? 200, toPairs(up.headers), upBody.length === 0);
    }
    // The body goes through proxy_on_response_body in one chunk with end_of_stream (none when the headers ended it).
    const out: Uint8Array[] = [];
    if (upBody.length > 0) {
      const done = new Promise<void>((resolve) => {
        stream.response.sink = (chunk, end) => {
          out.push(chunk);
          if (end) resolve();
        };
        stream.response.onReset = () => resolve();
      });
      stream.responseBody(upBody, true);
      if (!stream.response.ended) await done;
    }
    let body = dec.decode(joinBytes(out));
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
      ...(stream.bodyReleasedMs !== undefined ? { bodyReleasedMs: stream.bodyReleasedMs } : {}),
      ...(reqBody !== undefined ? { upstreamBody: stream.forwardedBody } : {}),
      grpcStatus: gs === undefined ? undefined : Number(gs),
    };
  } finally {
    init.signal?.removeEventListener("abort", onAbort);
    stream.finish();
  }
}
