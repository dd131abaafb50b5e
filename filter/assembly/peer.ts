// The caller of the current request (match.source), from the properties
// Envoy holds for the downstream connection: the first URI SAN of the peer's
// mTLS certificate (connection.uri_san_peer_certificate) and Istio's peer
// metadata (filter_state.downstream_peer.service / .namespace, Istio 1.24+).
// Without peer metadata the namespace comes from the principal
// (spiffe://<trust domain>/ns/<ns>/sa/<sa>); without either nothing matches.
// Only the properties some rule of the snapshot compares are read (each a host
// call), once per request, and only when a rule with match.source is a candidate.

import * as abi from "./abi";
import { utf8, ptrOf, startsWith } from "./bytes";
import { Peer, PEER_PRINCIPAL, PEER_SERVICE, PEER_NAMESPACE } from "./rules";

const P_PRINCIPAL = abi.propertyPath(["connection", "uri_san_peer_certificate"]);
const P_SERVICE = abi.propertyPath(["filter_state", "downstream_peer", "service"]);
const P_NAMESPACE = abi.propertyPath(["filter_state", "downstream_peer", "namespace"]);
const SPIFFE = utf8("spiffe://");
const NS = utf8("/ns/");

// The host buffers of the current request's caller (freed by releasePeer).
let principalBuf: usize = 0;
let serviceBuf: usize = 0;
let namespaceBuf: usize = 0;

/** Reads a property: its host buffer (0 when absent); the value is abi.propPtr/propLen (empty when absent). */
function read(path: ArrayBuffer): usize {
  abi.loadProperty(path);
  return abi.propPtr;
}

/** Reads the fields the snapshot's rules compare (peer.wanted); the namespace falls back to the principal's. */
export function loadPeer(peer: Peer): void {
  const wanted = peer.wanted;
  peer.principalLen = 0;
  peer.serviceLen = 0;
  peer.namespaceLen = 0;
  if (wanted & PEER_SERVICE) {
    serviceBuf = read(P_SERVICE);
    peer.servicePtr = abi.propPtr;
    peer.serviceLen = abi.propLen;
  }
  if (wanted & PEER_NAMESPACE) {
    namespaceBuf = read(P_NAMESPACE);
    peer.namespacePtr = abi.propPtr;
    peer.namespaceLen = abi.propLen;
  }
  if ((wanted & PEER_PRINCIPAL) == 0 && !((wanted & PEER_NAMESPACE) != 0 && peer.namespaceLen == 0)) return;
  principalBuf = read(P_PRINCIPAL);
  let pp = abi.propPtr, pl = abi.propLen;
  if (startsWith(pp, pl, ptrOf(SPIFFE), SPIFFE.byteLength)) { pp += <usize>SPIFFE.byteLength; pl -= SPIFFE.byteLength; }
  peer.principalPtr = pp;
  peer.principalLen = pl;
  if ((wanted & PEER_NAMESPACE) == 0 || peer.namespaceLen > 0) return;
  // The principal's namespace: the segment after "/ns/", up to the next '/'.
  for (let i = 0; i + NS.byteLength <= pl; i++) {
    if (!startsWith(pp + <usize>i, pl - i, ptrOf(NS), NS.byteLength)) continue;
    const start = i + NS.byteLength;
    let end = start;
    while (end < pl && load<u8>(pp + <usize>end) != 47) end++;
    peer.namespacePtr = pp + <usize>start;
    peer.namespaceLen = end - start;
    return;
  }
}

/** After the request's rule is chosen: the caller's host buffers go back to the allocator. */
export function releasePeer(): void {
  if (principalBuf != 0) { heap.free(principalBuf); principalBuf = 0; }
  if (serviceBuf != 0) { heap.free(serviceBuf); serviceBuf = 0; }
  if (namespaceBuf != 0) { heap.free(namespaceBuf); namespaceBuf = 0; }
}
