// gRPC streams the guest opens (proxy_grpc_stream/send/close/cancel), spoken
// over HTTP/2 as Envoy's gRPC bridge (Context + Grpc::AsyncStreamImpl) does:
// - messages reach the guest without the 5-byte gRPC prefix, one callback each;
// - proxy_on_grpc_receive_trailing_metadata is always called before the close,
//   with an empty map when the stream ended without trailers;
// - a stream reset after the response started closes with INTERNAL (13) and no
//   message; a failure before it (connect error, reset before headers) is the
//   router's local reply: UNAVAILABLE (14) with Envoy's "upstream connect error" text;
// - the status message is readable through proxy_get_status during the close;
// - handler bookkeeping: a handler is freed on the remote close only when the
//   plugin had closed its side (proxy_grpc_close), or by close/cancel later.
//   A remote-closed handler the plugin never closes lingers until its root
//   context is deleted (counted in staleHandlers / stats.leakedGrpcHandlers).
// node:http2 is used directly (not grpc-js) because these are exactly the
// points where a full gRPC client behaves differently from Envoy's bridge.
import http2 from "node:http2";
import { CalloutType, METRIC_TYPE_MASK, WasmResult as R } from "../../abi.ts";
import { decodePairs, type HeaderPair } from "../../pairs.ts";
import { parseGrpcService } from "./service.ts";
import type { HostEnv, ImportTable } from "../../host-env.ts";
import { ClusterAddresses } from "./clusters.ts";

const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;
/** Envoy router's local reply text when no response headers came from upstream. */
const VALID_AUTHORITY = /^[A-Za-z0-9._~:@!$&'()*+,;=%[\]-]+$/;
export const UPSTREAM_FAILURE_MESSAGE = "upstream connect error or disconnect/reset before headers. reset reason: ";

interface Handler {
  token: number;
  contextId: number;
  address: string;
  session: http2.ClientHttp2Session;
  req: http2.ClientHttp2Stream;
  localClosed: boolean;
  remoteClosed: boolean;
  /** Response headers seen (after that a reset is INTERNAL, before it the router's 503 -> UNAVAILABLE). */
  responded: boolean;
  pending: Buffer;
}

/** What the bridge reports about itself (tests, status). */
export interface GrpcBridgeStats {
  /** Handlers that were still remote-closed-but-not-closed-locally when their root context went away. */
  leakedGrpcHandlers: number;
}

const enc = new TextEncoder();

export class GrpcStreams {
  /** Set only while the matching guest callback runs (buffer 5, header maps 4 and 5). */
  receiveBuffer: Uint8Array | undefined;
  initialMetadata: HeaderPair[] | undefined;
  trailingMetadata: HeaderPair[] | undefined;
  readonly stats: GrpcBridgeStats = { leakedGrpcHandlers: 0 };
  /** proxy_get_status: the closing stream's status during proxy_on_grpc_close. */
  private status: { code: number; message: string } = { code: 0, message: "" };
  private readonly handlers = new Map<number, Handler>();
  private nextToken: number = CalloutType.GrpcStream;
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private clusterTable: ClusterAddresses | undefined;
  private closed = false;

  constructor(private readonly env: HostEnv) {}

  /** Built on first use: the VM's options are not set yet when it constructs this. */
  private get clusters(): ClusterAddresses {
    return (this.clusterTable ??= new ClusterAddresses(this.env.options.clusters ?? {}, this.env.options.defaultCluster));
  }

  /** Streams whose remote side is still open. */
  get count(): number {
    let n = 0;
    for (const h of this.handlers.values()) if (!h.remoteClosed) n++;
    return n;
  }

  /** Every handler Envoy would still hold (open streams and stale ones). */
  get handlerCount(): number {
    return this.handlers.size;
  }

  /** Handlers closed by the remote side that the plugin never closed: Envoy keeps them (and their stale stream). */
  get staleHandlers(): number {
    let n = 0;
    for (const h of this.handlers.values()) if (h.remoteClosed && !h.localClosed) n++;
    return n;
  }

  private session(address: string): http2.ClientHttp2Session {
    let s = this.sessions.get(address);
    if (s && !s.closed && !s.destroyed) return s;
    s = http2.connect(`http://${address}`);
    const created = s;
    created.on("error", () => {
      /* each stream on it reports its own failure */
    });
    created.on("close", () => {
      if (this.sessions.get(address) === created) this.sessions.delete(address);
    });
    // No keep-alive of its own: it must not hold the process open (Envoy's cluster owns the connection).
    created.unref();
    this.sessions.set(address, created);
    return created;
  }

  private open(service: Uint8Array, serviceName: string, method: string, metadataPairs: HeaderPair[]): { token: number } | { error: number } {
    const { env } = this;
    const ref = parseGrpcService(service);
    const address = ref.targetUri ?? (ref.cluster !== undefined ? this.clusters.pick(ref.cluster) : undefined);
    if (!address) {
      env.logger.warn({ cluster: ref.cluster }, "proxy_grpc_stream: unknown cluster");
      return { error: R.ParseFailure };
    }
    const ctx = env.context();
    if (!ctx) return { error: R.BadArgument };
    // Envoy: gRPC callouts belong to the root context of the calling context.
    const owner = ctx.rootId;
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": `/${serviceName}/${method}`,
      ":scheme": "http",
      // Envoy sends the cluster name as :authority; Istio's names ("outbound|9090||host") are not
      // valid authorities for Node's HTTP/2 server (PROTOCOL_ERROR), so the host sends the address then.
      ":authority": ref.cluster !== undefined && VALID_AUTHORITY.test(ref.cluster) ? ref.cluster : address,
      "content-type": "application/grpc",
      te: "trailers",
    };
    for (const [k, v] of [...ref.initialMetadata, ...metadataPairs]) {
      const key = k.toLowerCase();
      if (key.startsWith(":") || key === "content-type" || key === "te") continue;
      const prev = headers[key];
      headers[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    const token = this.nextToken;
    this.nextToken += METRIC_TYPE_MASK + 1;
    let req: http2.ClientHttp2Stream;
    let session: http2.ClientHttp2Session;
    try {
      session = this.session(address);
      req = session.request(headers, { endStream: false });
    } catch (err) {
      env.logger.warn({ err: (err as Error).message, address }, "proxy_grpc_stream: cannot start the call");
      return { error: R.InternalFailure };
    }
    const h: Handler = { token, contextId: owner, address, session, req, localClosed: false, remoteClosed: false, responded: false, pending: Buffer.alloc(0) };
    this.handlers.set(token, h);
    this.watch(h);
    return { token };
  }

  private live(h: Handler): boolean {
    return !this.closed && !h.remoteClosed && this.handlers.get(h.token) === h;
  }

  private watch(h: Handler): void {
    const { req } = h;
    req.on("response", (headers, flags) => {
      if (!this.live(h)) return;
      h.responded = true;
      const pairs = headerPairs(headers);
      const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 || headers["grpc-status"] !== undefined;
      const httpStatus = Number(headers[":status"] ?? 0);
      if (endStream) {
        // Trailers-only response: the headers are the trailers.
        this.remoteClose(h, pairs, grpcStatusOf(headers), grpcMessageOf(headers));
        return;
      }
      if (httpStatus !== 200) {
        this.remoteClose(h, [], httpToGrpcStatus(httpStatus), "");
        return;
      }
      this.initialMetadata = pairs;
      this.env.callGuest(h.contextId, "proxy_on_grpc_receive_initial_metadata", h.contextId, h.token, pairs.length);
      this.initialMetadata = undefined;
    });
    req.on("data", (chunk: Buffer) => {
      if (!this.live(h)) return;
      h.pending = h.pending.length ? Buffer.concat([h.pending, chunk]) : chunk;
      while (h.pending.length >= 5 && this.live(h)) {
        const len = h.pending.readUInt32BE(1);
        if (h.pending.length < 5 + len) break;
        const msg = h.pending.subarray(5, 5 + len);
        h.pending = h.pending.subarray(5 + len);
        this.receiveBuffer = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
        this.env.callGuest(h.contextId, "proxy_on_grpc_receive", h.contextId, h.token, msg.byteLength);
        this.receiveBuffer = undefined;
      }
    });
    req.on("trailers", (trailers) => {
      if (!this.live(h)) return;
      this.remoteClose(h, headerPairs(trailers), grpcStatusOf(trailers), grpcMessageOf(trailers));
    });
    req.on("error", () => {
      /* reported by "close" */
    });
    req.on("close", () => {
      if (!this.live(h)) return;
      if (h.responded) {
        // Reset after the response started: Envoy's AsyncStreamImpl::onReset.
        this.remoteClose(h, [], GRPC_INTERNAL, "");
      } else {
        this.clusters.failed(h.address);
        this.remoteClose(h, [], GRPC_UNAVAILABLE, UPSTREAM_FAILURE_MESSAGE + this.resetReason(h));
      }
    });
  }

  /** Envoy's names of a StreamResetReason (Http::Utility::resetReasonToString) for a stream that got no headers. */
  private resetReason(h: Handler): string {
    // `connecting` stays true on a session that never connected, also once destroyed (Node sets it false only on connect).
    if (h.session.connecting) return "connection failure";
    if (h.req.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) return "remote refused stream reset";
    if (h.session.destroyed || h.session.closed) return "connection termination";
    return "remote reset";
  }

  /** Envoy: onReceiveTrailingMetadata (always), then onRemoteClose -> onGrpcCloseWrapper. */
  private remoteClose(h: Handler, trailers: HeaderPair[], code: number, message: string): void {
    h.remoteClosed = true;
    h.req.removeAllListeners("data");
    if (!h.req.closed) h.req.close(http2.constants.NGHTTP2_NO_ERROR);
    const { env } = this;
    this.trailingMetadata = trailers;
    env.callGuest(h.contextId, "proxy_on_grpc_receive_trailing_metadata", h.contextId, h.token, trailers.length);
    this.trailingMetadata = undefined;
    this.status = { code, message };
    env.callGuest(h.contextId, "proxy_on_grpc_close", h.contextId, h.token, code);
    this.status = { code: 0, message: "" };
    // The handler goes only if the plugin closed its side (possibly just now, in the callback).
    if (h.localClosed && this.handlers.get(h.token) === h) this.handlers.delete(h.token);
  }

  /** Reset with no further callbacks (proxy_grpc_cancel, root context deletion). */
  private reset(h: Handler): void {
    this.handlers.delete(h.token);
    h.req.removeAllListeners("response");
    h.req.removeAllListeners("data");
    h.req.removeAllListeners("trailers");
    h.req.removeAllListeners("close");
    if (!h.req.closed) h.req.close(http2.constants.NGHTTP2_CANCEL);
  }

  /** A root context is deleted: Envoy's ~Context resets every handler it still holds. */
  cancelOwnedBy(contextId: number): void {
    for (const h of [...this.handlers.values()]) {
      if (h.contextId !== contextId) continue;
      if (h.remoteClosed && !h.localClosed) this.stats.leakedGrpcHandlers++;
      this.reset(h);
    }
  }

  /** Reset every stream and close the connections (VM shutdown). */
  closeAll(): void {
    this.closed = true;
    for (const h of [...this.handlers.values()]) this.reset(h);
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  imports(): ImportTable {
    const { mem } = this.env;
    return {
      proxy_get_status: (codePtr: number, msgPtrPtr: number, msgSizePtr: number) => {
        if (!mem.setU32(codePtr, this.status.code)) return R.InvalidMemoryAccess;
        return mem.copyOut(enc.encode(this.status.message), msgPtrPtr, msgSizePtr);
      },
      proxy_grpc_stream: (sp: number, ss: number, snp: number, sns: number, mp: number, ms: number, mdp: number, mds: number, tokenPtr: number) => {
        const service = mem.view(sp, ss)?.slice();
        const serviceName = mem.str(snp, sns);
        const method = mem.str(mp, ms);
        const mdBytes = mem.view(mdp, mds);
        if (!service || serviceName === undefined || method === undefined || !mdBytes) return R.InvalidMemoryAccess;
        const md = decodePairs(mdBytes) ?? [];
        if (!mem.inBounds(tokenPtr >>> 0, 4)) return R.InvalidMemoryAccess;
        const r = this.open(service, serviceName, method, md);
        if ("error" in r) return r.error;
        mem.setU32(tokenPtr, r.token);
        return R.Ok;
      },
      proxy_grpc_send: (token: number, mp: number, ms: number, endStream: number) => {
        const h = this.handlers.get(token >>> 0);
        if (!h) return R.NotFound;
        const msg = mem.view(mp, ms);
        if (!msg) return R.InvalidMemoryAccess;
        // Envoy accepts the call; nothing goes out after a half-close or on a stream the remote closed.
        if (h.localClosed || h.remoteClosed) return R.Ok;
        const copy = Buffer.from(msg);
        this.env.options.onGrpcSend?.(copy, h.token);
        const frame = Buffer.alloc(5 + copy.length);
        frame.writeUInt32BE(copy.length, 1);
        copy.copy(frame, 5);
        h.req.write(frame);
        if (endStream) {
          h.localClosed = true;
          h.req.end();
        }
        return R.Ok;
      },
      proxy_grpc_close: (token: number) => {
        const h = this.handlers.get(token >>> 0);
        if (!h) return R.NotFound;
        // Envoy: closeStream() (half-close); the handler goes now if the remote side is done, else on its close.
        if (!h.localClosed && !h.remoteClosed) h.req.end();
        h.localClosed = true;
        if (h.remoteClosed) this.handlers.delete(h.token);
        return R.Ok;
      },
      proxy_grpc_cancel: (token: number) => {
        const h = this.handlers.get(token >>> 0);
        if (!h) return R.NotFound;
        this.reset(h);
        return R.Ok;
      },
    };
  }
}

function headerPairs(h: http2.IncomingHttpHeaders): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push([k, String(x)]);
  }
  return out;
}

function grpcStatusOf(h: http2.IncomingHttpHeaders): number {
  const n = Number(h["grpc-status"]);
  // Envoy: a missing status is UNKNOWN (2).
  return Number.isInteger(n) && n >= 0 ? n : 2;
}

function grpcMessageOf(h: http2.IncomingHttpHeaders): string {
  const m = h["grpc-message"];
  if (typeof m !== "string") return "";
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

/** Envoy's Grpc::Utility::httpToGrpcStatus. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
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
