// The caller of the current request (match.source), from the properties
// Envoy holds for the downstream connection: the first URI SAN of the peer's
// mTLS certificate (connection.uri_san_peer_certificate) and Istio's peer
// metadata (filter_state.downstream_peer.service / .namespace, Istio 1.24+).
// Without peer metadata the namespace comes from the principal
// (spiffe://<trust domain>/ns/<ns>/sa/<sa>); without either nothing matches.

import * as abi from "./abi";
import { bytesOf, utf8, ptrOf, startsWith } from "./bytes";
import { Peer } from "./rules";

const P_PRINCIPAL = abi.propertyPath(["connection", "uri_san_peer_certificate"]);
const P_SERVICE = abi.propertyPath(["filter_state", "downstream_peer", "service"]);
const P_NAMESPACE = abi.propertyPath(["filter_state", "downstream_peer", "namespace"]);
const SPIFFE = utf8("spiffe://");
const NS = utf8("/ns/");

function read(p: ArrayBuffer): ArrayBuffer {
  const v = abi.getPropertyPath(p);
  if (v == null) return new ArrayBuffer(0);
  const out = bytesOf(v.ptr, v.len);
  v.free();
  return out;
}

/** The principal's namespace: the segment after "/ns/", up to the next '/'. */
function namespaceOf(principal: ArrayBuffer): ArrayBuffer {
  const n = principal.byteLength;
  for (let i = 0; i + NS.byteLength <= n; i++) {
    if (!startsWith(ptrOf(principal) + <usize>i, n - i, ptrOf(NS), NS.byteLength)) continue;
    const start = i + NS.byteLength;
    let end = start;
    while (end < n && load<u8>(changetype<usize>(principal) + <usize>end) != 47) end++;
    return principal.slice(start, end);
  }
  return new ArrayBuffer(0);
}

export function loadPeer(peer: Peer): void {
  let principal = read(P_PRINCIPAL);
  if (startsWith(ptrOf(principal), principal.byteLength, ptrOf(SPIFFE), SPIFFE.byteLength)) principal = principal.slice(SPIFFE.byteLength);
  peer.principal = principal;
  peer.service = read(P_SERVICE);
  const ns = read(P_NAMESPACE);
  peer.namespace = ns.byteLength > 0 ? ns : namespaceOf(principal);
}
