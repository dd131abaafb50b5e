// hfi.v1.ConfigDiscoveryService/StreamConfig: the filter's config stream.
// The response serializer is the identity: ConfigStreams writes pre-encoded
// ConfigSnapshot bytes (policy part shared by every stream of an identity).
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { StreamConfigRequestOut } from "../../proto/loader.ts";
import { checkBearer, tokenEquals } from "../auth.ts";
import type { Metrics } from "../metrics.ts";
import { normaliseIdentity } from "../selector.ts";
import type { ConfigStream, ConfigStreams, StreamSink } from "../streams.ts";
import type { PolicyView } from "../view.ts";
import { methodDefinition } from "../wire.ts";

export function configServiceDefinition(): grpc.ServiceDefinition {
  const m = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig");
  return {
    StreamConfig: {
      path: m.path,
      requestStream: true,
      responseStream: true,
      requestSerialize: m.requestSerialize,
      requestDeserialize: m.requestDeserialize,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: m.responseDeserialize,
      originalName: "streamConfig",
    },
  } as grpc.ServiceDefinition;
}

export interface ConfigServiceDeps {
  streams: ConfigStreams;
  view: PolicyView;
  metrics: Metrics;
  logger: Logger;
  streamToken?: string;
  /** Open calls, ended with UNAVAILABLE on shutdown. */
  calls: Set<grpc.ServerDuplexStream<StreamConfigRequestOut, Buffer>>;
}

function fail(call: grpc.ServerDuplexStream<StreamConfigRequestOut, Buffer>, code: grpc.status, details: string): void {
  call.emit("error", { code, details });
}

export function configServiceHandlers(deps: ConfigServiceDeps): grpc.UntypedServiceImplementation {
  const StreamConfig = (call: grpc.ServerDuplexStream<StreamConfigRequestOut, Buffer>) => {
    const { streams, logger } = deps;
    let stream: ConfigStream | undefined;
    let subscribed = false;
    let ended = false;
    deps.calls.add(call);
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
    let pendingIdentity: ReturnType<typeof normaliseIdentity> | undefined;
    function register() {
      if (ended || !pendingIdentity) return;
      stream = streams.add(pendingIdentity, call as unknown as StreamSink);
      logger.debug({ identity: pendingIdentity, version: stream.sent?.version }, "config stream subscribed");
    }
    call.on("data", (req: StreamConfigRequestOut) => {
      if (ended) return;
      if (!subscribed) {
        if (!req.subscribe) return fail(call, grpc.status.INVALID_ARGUMENT, "first message must be subscribe");
        if (deps.streamToken) {
          const given = req.subscribe.token;
          const reason = given
            ? tokenEquals(given, deps.streamToken)
              ? undefined
              : "invalid stream token"
            : checkBearer(deps.streamToken, call.metadata.get("authorization")[0] as string | undefined);
          if (reason) return fail(call, grpc.status.UNAUTHENTICATED, reason);
        }
        subscribed = true;
        pendingIdentity = normaliseIdentity(req.subscribe.identity);
        // Until the first list() succeeded the view is empty, not "no policies": wait.
        if (deps.view.synced) register();
        else deps.view.once("synced", register);
        return;
      }
      if (req.subscribe) return fail(call, grpc.status.INVALID_ARGUMENT, "subscribe may only be the first message");
      if (!stream) return; // ACK before the first snapshot: nothing to acknowledge
      if (req.ack) {
        deps.metrics.acks.inc();
        stream.ack(req.ack.version, req.ack.nonce);
      } else if (req.nack) {
        deps.metrics.nacks.inc();
        logger.warn({ proxy: stream.identity.proxyId, version: req.nack.version, error: req.nack.error }, "filter rejected a snapshot");
        stream.nack(req.nack.version, req.nack.nonce, req.nack.error);
      }
    });
    call.on("end", () => {
      cleanup();
      call.end();
    });
    call.on("cancelled", cleanup);
    call.on("close", cleanup);
    call.on("error", cleanup);
  };
  return { StreamConfig };
}
