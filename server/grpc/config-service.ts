// hfi.v1.ConfigDiscoveryService/StreamConfig: the filter's config stream,
// served on the gRPC port's HTTP/2 streams directly (raw-call.ts): the
// server writes each identity group's pre-framed snapshot as is. Every other
// method on the port stays with grpc-js (installStreamConfig routes by path).
import type http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { StreamConfigRequestOut } from "../../proto/loader.ts";
import { toApiError } from "../errors.ts";
import type { Access } from "../security/access.ts";
import { http2Caller } from "./caller.ts";
import type { Metrics } from "../metrics.ts";
import { normaliseIdentity } from "../selector.ts";
import type { ConfigStream, ConfigStreams } from "../distribution/streams.ts";
import type { PolicyView } from "../distribution/view.ts";
import { methodDefinition } from "./methods.ts";
import { isGrpcRequest, RawGrpcCall } from "./raw-call.ts";

export const STREAM_CONFIG_PATH = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").path;

export interface ConfigServiceDeps {
  streams: ConfigStreams;
  view: PolicyView;
  metrics: Metrics;
  logger: Logger;
  access: Access;
  /** Open calls, ended with UNAVAILABLE on shutdown. */
  calls: Set<RawGrpcCall<StreamConfigRequestOut>>;
}

type Http2StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => void;

/**
 * Routes StreamConfig requests on the grpc-js server's HTTP/2 listeners to
 * `handle`; everything else goes to grpc-js as before. Call after bindAsync.
 * grpc-js exposes no per-stream hook, so this reaches its listener map; the
 * config-stream tests fail loudly if a grpc-js upgrade moves it.
 */
export function installStreamConfig(server: grpc.Server, handle: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void): void {
  const listeners = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  if (!(listeners instanceof Map) || listeners.size === 0) throw new Error("grpc-js server internals changed: cannot serve StreamConfig on HTTP/2");
  for (const h2 of listeners.keys()) {
    const grpcJs = h2.listeners("stream") as Http2StreamListener[];
    h2.removeAllListeners("stream");
    h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => {
      if (headers[":path"] === STREAM_CONFIG_PATH && isGrpcRequest(headers)) return handle(stream, headers);
      for (const l of grpcJs) l.call(h2, stream, headers, ...rest);
    });
  }
}

export function streamConfigHandler(deps: ConfigServiceDeps): (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void {
  const deserialize = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").requestDeserialize as (b: Buffer) => StreamConfigRequestOut;
  return (h2stream, headers) => {
    const { streams, logger } = deps;
    let stream: ConfigStream | undefined;
    let subscribed = false;
    let ended = false;
    let pendingIdentity: ReturnType<typeof normaliseIdentity> | undefined;
    let pendingServing = false;
    const cleanup = () => {
      if (ended) return;
      ended = true;
      deps.calls.delete(call);
      deps.view.off("synced", register);
      if (stream) {
        streams.remove(stream);
        logger.debug({ proxy: stream.identity.proxyId }, "config stream closed");
      }
    };
    const fail = (code: grpc.status, details: string) => {
      call.close(code, details);
      cleanup();
    };
    function register() {
      if (ended || !pendingIdentity) return;
      stream = streams.add(pendingIdentity, call, pendingServing);
      logger.debug({ identity: pendingIdentity, version: stream.sent?.version }, "config stream subscribed");
    }
    const call: RawGrpcCall<StreamConfigRequestOut> = new RawGrpcCall(h2stream, headers, deserialize, {
      message(req) {
        if (ended) return;
        if (!subscribed) {
          if (!req.subscribe) return fail(grpc.status.INVALID_ARGUMENT, "first message must be subscribe");
          const claim = normaliseIdentity(req.subscribe.identity);
          try {
            deps.access.stream(http2Caller(h2stream, headers), req.subscribe.token, claim);
          } catch (err) {
            const e = toApiError(err);
            logger.info({ claim, code: e.grpcCode, reason: e.message }, "config stream refused");
            return fail(e.grpcCode, e.message);
          }
          subscribed = true;
          pendingIdentity = claim;
          pendingServing = req.subscribe.serving;
          // Until the first list() succeeded the view is empty, not "no policies": wait.
          if (deps.view.synced) register();
          else deps.view.once("synced", register);
          return;
        }
        if (req.subscribe) return fail(grpc.status.INVALID_ARGUMENT, "subscribe may only be the first message");
        if (req.serving) {
          // Before registration (store not synced yet) it is remembered for add().
          if (stream) stream.markServing();
          else pendingServing = true;
          return;
        }
        if (!stream) return; // ACK before the first snapshot: nothing to acknowledge
        if (req.ack) {
          deps.metrics.acks.inc();
          stream.ack(req.ack.version, req.ack.nonce);
        } else if (req.nack) {
          deps.metrics.nacks.inc();
          logger.warn({ proxy: stream.identity.proxyId, version: req.nack.version, error: req.nack.error }, "filter rejected a snapshot");
          stream.nack(req.nack.version, req.nack.nonce, req.nack.error);
        }
      },
      end() {
        call.close(grpc.status.OK, "");
        cleanup();
      },
      closed: cleanup,
    });
    deps.calls.add(call);
    // Headers go out at once: clients see the call open before the first snapshot.
    call.respond();
  };
}
