// The caller of a grpc-js call or a raw HTTP/2 stream, as server/security sees it.
import type http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";
import { XFCC_HEADER, type Caller } from "../security/access.ts";
import { peerAddress } from "../security/mesh.ts";

function first(v: grpc.MetadataValue[]): string | undefined {
  return v.map((x) => x.toString()).join(",") || undefined;
}

export function grpcCaller(call: { metadata: grpc.Metadata; getPeer(): string }): Caller {
  return {
    authorization: call.metadata.get("authorization")[0]?.toString(),
    xfcc: first(call.metadata.get(XFCC_HEADER)),
    remoteAddress: peerAddress(call.getPeer()),
  };
}

export function http2Caller(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Caller {
  const auth = headers.authorization;
  return {
    authorization: Array.isArray(auth) ? auth[0] : auth,
    xfcc: headers[XFCC_HEADER],
    remoteAddress: stream.session?.socket?.remoteAddress,
  };
}
