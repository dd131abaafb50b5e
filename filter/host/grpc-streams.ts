// gRPC streams the guest opens (proxy_grpc_stream/send/close/cancel) over real
// HTTP/2 with the grpc-js generic client (raw message bytes both ways; grpc-js
// does the 5-byte framing), and the callbacks Envoy makes for them.
import * as grpc from "@grpc/grpc-js";
import { CalloutType, METRIC_TYPE_MASK, WasmResult as R } from "./abi.ts";
import { decodePairs, type HeaderPair } from "./pairs.ts";
import { parseGrpcService } from "./grpc-service.ts";
import type { HostEnv, ImportTable } from "./host-env.ts";

interface GrpcStreamState {
  token: number;
  contextId: number;
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  localClosed: boolean;
}

const enc = new TextEncoder();

export class GrpcStreams {
  /** Set only while the matching guest callback runs (buffer 5, header maps 4 and 5). */
  receiveBuffer: Uint8Array | undefined;
  initialMetadata: HeaderPair[] | undefined;
  trailingMetadata: HeaderPair[] | undefined;
  /** proxy_get_status: the closing stream's status during proxy_on_grpc_close. */
  private status: { code: number; message: string } = { code: 0, message: "" };
  private readonly streams = new Map<number, GrpcStreamState>();
  private nextToken: number = CalloutType.GrpcStream;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly env: HostEnv) {}

  /** Open streams (callouts). */
  get count(): number {
    return this.streams.size;
  }

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      // Envoy connects to a cluster on demand; keep grpc-js's reconnect backoff short to match.
      c = new grpc.Client(address, grpc.credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        "grpc.enable_retries": 0,
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      });
      this.clients.set(address, c);
    }
    return c;
  }

  private open(service: Uint8Array, serviceName: string, method: string, metadataPairs: HeaderPair[]): { token: number } | { error: number } {
    const { env } = this;
    const ref = parseGrpcService(service);
    const address =
      ref.targetUri ??
      (ref.cluster !== undefined ? (env.options.clusters?.[ref.cluster] ?? env.options.defaultCluster) : undefined);
    if (!address) {
      env.logger.warn({ cluster: ref.cluster }, "proxy_grpc_stream: unknown cluster");
      return { error: R.ParseFailure };
    }
    const ctx = env.context();
    if (!ctx) return { error: R.BadArgument };
    // Envoy: gRPC callouts belong to the root context of the calling context.
    const owner = ctx.rootId;
    const md = new grpc.Metadata();
    for (const [k, v] of [...ref.initialMetadata, ...metadataPairs]) {
      try {
        if (k.endsWith("-bin")) md.add(k, Buffer.from(v, "base64"));
        else md.add(k, v);
      } catch {
        env.logger.warn({ key: k }, "proxy_grpc_stream: initial metadata entry refused");
      }
    }
    const token = this.nextToken;
    this.nextToken += METRIC_TYPE_MASK + 1;
    const identity = (b: Buffer) => b;
    let call: grpc.ClientDuplexStream<Buffer, Buffer>;
    try {
      call = this.client(address).makeBidiStreamRequest(`/${serviceName}/${method}`, identity, identity, md);
    } catch (err) {
      env.logger.warn({ err: (err as Error).message, address }, "proxy_grpc_stream: cannot start the call");
      return { error: R.InternalFailure };
    }
    const st: GrpcStreamState = { token, contextId: owner, call, localClosed: false };
    this.streams.set(token, st);
    call.on("metadata", (m: grpc.Metadata) => {
      if (this.streams.get(token) !== st) return;
      this.initialMetadata = metadataPairsOf(m);
      env.callGuest(st.contextId, "proxy_on_grpc_receive_initial_metadata", st.contextId, token, this.initialMetadata.length);
      this.initialMetadata = undefined;
    });
    call.on("data", (msg: Buffer) => {
      if (this.streams.get(token) !== st) return;
      this.receiveBuffer = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      env.callGuest(st.contextId, "proxy_on_grpc_receive", st.contextId, token, msg.byteLength);
      this.receiveBuffer = undefined;
    });
    call.on("error", () => {
      /* reported through "status" */
    });
    call.on("status", (s: grpc.StatusObject) => {
      if (this.streams.get(token) !== st) return;
      this.streams.delete(token);
      const trailers = metadataPairsOf(s.metadata);
      if (trailers.length > 0) {
        this.trailingMetadata = trailers;
        env.callGuest(st.contextId, "proxy_on_grpc_receive_trailing_metadata", st.contextId, token, trailers.length);
        this.trailingMetadata = undefined;
      }
      this.status = { code: s.code, message: s.details ?? "" };
      env.callGuest(st.contextId, "proxy_on_grpc_close", st.contextId, token, s.code);
      this.status = { code: 0, message: "" };
    });
    return { token };
  }

  /** Cancel with no further callbacks (proxy_grpc_cancel, shutdown). */
  private cancel(st: GrpcStreamState): void {
    this.streams.delete(st.token);
    st.call.removeAllListeners("metadata");
    st.call.removeAllListeners("data");
    st.call.removeAllListeners("status");
    st.call.on("error", () => {});
    st.call.cancel();
  }

  /** Cancel the streams a context owns (its deletion). */
  cancelOwnedBy(contextId: number): void {
    for (const st of [...this.streams.values()]) if (st.contextId === contextId) this.cancel(st);
  }

  /** Cancel every stream and close the channels (VM shutdown). */
  closeAll(): void {
    for (const s of [...this.streams.values()]) this.cancel(s);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
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
        const st = this.streams.get(token >>> 0);
        if (!st) return R.NotFound;
        const msg = mem.view(mp, ms);
        if (!msg) return R.InvalidMemoryAccess;
        // Envoy accepts the call but nothing more goes out after a half-close.
        if (st.localClosed) return R.Ok;
        const copy = Buffer.from(msg);
        this.env.options.onGrpcSend?.(copy, st.token);
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
      },
      proxy_grpc_close: (token: number) => {
        const st = this.streams.get(token >>> 0);
        if (!st) return R.NotFound;
        // Half-close; the remote status still arrives through proxy_on_grpc_close.
        if (!st.localClosed) {
          st.localClosed = true;
          st.call.end();
        }
        return R.Ok;
      },
      proxy_grpc_cancel: (token: number) => {
        const st = this.streams.get(token >>> 0);
        if (!st) return R.NotFound;
        this.cancel(st);
        return R.Ok;
      },
    };
  }
}

function metadataPairsOf(m: grpc.Metadata | undefined): HeaderPair[] {
  if (!m) return [];
  const out: HeaderPair[] = [];
  for (const [k, vs] of Object.entries(m.toJSON())) {
    for (const v of vs) out.push([k, typeof v === "string" ? v : Buffer.from(v).toString("base64")]);
  }
  return out;
}
