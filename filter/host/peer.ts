// The downstream peer of a stream, as Envoy exposes it to a Wasm filter
// through proxy_get_property (checked against Envoy's and Istio's sources):
//   connection.mtls                      bool: TLS with a peer certificate presented
//   connection.uri_san_peer_certificate  first URI SAN of the peer certificate
//                                        (Istio: spiffe://<trust domain>/ns/<ns>/sa/<sa>);
//                                        absent without TLS
//   filter_state.downstream_peer.<field> Istio (1.24+) peer metadata, a
//                                        WorkloadMetadataObject with field support:
//                                        service, namespace, workload, app, version, ...;
//                                        the whole object reads as an empty map, as in Envoy
// Envoy has no `source.principal` (source.* is address and port).
import type { PropertyValue } from "./properties.ts";

export interface DownstreamPeer {
  /** URI SAN of the caller's certificate, e.g. spiffe://cluster.local/ns/demo/sa/checkout (mTLS). */
  principal?: string;
  /** Istio peer metadata (metadata exchange), also present without mTLS. */
  service?: string;
  namespace?: string;
  workload?: string;
}

/** The `connection` and `filter_state` properties of a stream's peer (a stream builds them once). */
export interface PeerProperties {
  connection: Record<string, PropertyValue>;
  filter_state: Record<string, PropertyValue>;
}

export function peerProperties(peer: DownstreamPeer | undefined): PeerProperties {
  return { connection: connectionProperties(peer), filter_state: filterStateProperties(peer) };
}

export function connectionProperties(peer: DownstreamPeer | undefined): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = { mtls: !!peer?.principal };
  if (peer?.principal) out.uri_san_peer_certificate = peer.principal;
  return out;
}

export function filterStateProperties(peer: DownstreamPeer | undefined): Record<string, PropertyValue> {
  if (!peer || (peer.service === undefined && peer.namespace === undefined && peer.workload === undefined)) return {};
  // Fields are readable one by one but not enumerated: the object as a whole serialises empty.
  const obj: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries({ service: peer.service, namespace: peer.namespace, workload: peer.workload }))
    if (v !== undefined) Object.defineProperty(obj, k, { value: v, enumerable: false });
  return { downstream_peer: obj };
}
