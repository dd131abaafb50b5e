// Local replies (proxy_send_local_response): what the guest asked for, and
// the response Envoy's sendLocalReply builds from it, gRPC-aware.
import type { HeaderPair } from "./pairs.ts";

export interface LocalResponse {
  status: number;
  headers: HeaderPair[];
  body: Uint8Array;
  details: string;
  grpcStatus?: number;
}

const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

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
