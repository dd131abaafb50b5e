// Outbound matching: where a call the workload makes is going, as Envoy knows
// it in an HTTP filter on the outbound listener. The route's cluster
// (property xds.cluster_name; cluster_name on Envoy before 1.22) is Istio's
// outbound|PORT|SUBSET|HOST for mesh services and ServiceEntries; other
// clusters (PassthroughCluster, or a non-Istio Envoy) leave the :authority
// header (host[:port]). Both are read on first use, when a request reaches a
// rule with a destination condition: the cluster name from the host (by
// injection.ts, handed to setCluster), the authority from the headers.

import { PairsView, eqIgnoreCase, startsWithIgnoreCase, toLowerAscii, ptrOf, utf8, decimal } from "./bytes";

const H_AUTHORITY = utf8(":authority");
const H_SCHEME = utf8(":scheme");
const OUTBOUND = utf8("outbound|");
const SVC = utf8(".svc");
const SVC_DOT = utf8(".svc.");

/** A rule's destination condition (hfi.v1.Destination), names lower-cased. */
export class DestMatcher {
  /** "<service>.<namespace>" when a service was given (empty otherwise). */
  serviceNs: ArrayBuffer = new ArrayBuffer(0);
  /** The bare service name, accepted only when the namespace is the caller's own (a short DNS name). */
  shortName: ArrayBuffer = new ArrayBuffer(0);
  host: ArrayBuffer = new ArrayBuffer(0);
  port: u32 = 0;

  static of(service: ArrayBuffer, namespace: ArrayBuffer, host: ArrayBuffer, port: u32, ownNamespace: string): DestMatcher {
    const m = new DestMatcher();
    m.port = port;
    m.host = toLowerAscii(host);
    if (service.byteLength > 0) {
      const svc = String.UTF8.decode(toLowerAscii(service));
      let ns = String.UTF8.decode(toLowerAscii(namespace));
      if (ns.length == 0) ns = ownNamespace;
      m.serviceNs = utf8(svc + "." + ns);
      if (ns == ownNamespace) m.shortName = utf8(svc);
    }
    return m;
  }
}

/** Kubernetes DNS forms of a service: svc, svc.ns, svc.ns.svc, svc.ns.svc.<cluster domain>. */
function serviceHolds(m: DestMatcher, p: usize, n: i32): bool {
  const sn = ptrOf(m.serviceNs);
  const snl = m.serviceNs.byteLength;
  if (m.shortName.byteLength > 0 && eqIgnoreCase(p, n, ptrOf(m.shortName), m.shortName.byteLength)) return true;
  if (!startsWithIgnoreCase(p, n, sn, snl)) return false;
  if (n == snl) return true;
  const rest = p + <usize>snl;
  const rl = n - snl;
  if (eqIgnoreCase(rest, rl, ptrOf(SVC), SVC.byteLength)) return true;
  return rl > SVC_DOT.byteLength && startsWithIgnoreCase(rest, rl, ptrOf(SVC_DOT), SVC_DOT.byteLength);
}

/** The destination of the current request (cluster host and port, authority host and port). */
export class DestinationView {
  loaded: bool = false;
  clusterHostPtr: usize = 0;
  clusterHostLen: i32 = 0;
  clusterPort: u32 = 0;
  authHostPtr: usize = 0;
  authHostLen: i32 = 0;
  authPort: u32 = 0;

  /** A new request: its cluster is unknown until setCluster. */
  reset(): void {
    this.loaded = false;
    this.clusterHostPtr = 0; this.clusterHostLen = 0; this.clusterPort = 0;
    this.authHostPtr = 0; this.authHostLen = 0; this.authPort = 0;
  }

  /** The route's cluster name [p, p+n) (kept in place: valid for the request callback). */
  setCluster(p: usize, n: i32): void {
    this.parseCluster(p, n);
  }

  /** Parses :authority (host[:port]; port from :scheme when absent). */
  load(pairs: PairsView): void {
    this.loaded = true;
    const i = pairs.find(ptrOf(H_AUTHORITY), H_AUTHORITY.byteLength);
    if (i >= 0) {
      const p = pairs.valPtr(i);
      const n = pairs.valLen(i);
      let c = n - 1;
      while (c >= 0 && load<u8>(p + <usize>c) != 58 && load<u8>(p + <usize>c) != 93) c--; // ':' (not inside [v6])
      if (c >= 0 && load<u8>(p + <usize>c) == 58) {
        this.authHostPtr = p; this.authHostLen = c;
        this.authPort = digits(p + <usize>c + 1, n - c - 1);
      } else {
        this.authHostPtr = p; this.authHostLen = n;
        const s = pairs.find(ptrOf(H_SCHEME), H_SCHEME.byteLength);
        this.authPort = s >= 0 && pairs.valLen(s) == 5 ? 443 : 80; // "https" else http
      }
    }
  }

  /** outbound|PORT|SUBSET|HOST -> host, port (other cluster names: no cluster destination). */
  private parseCluster(p: usize, n: i32): void {
    if (!startsWithIgnoreCase(p, n, ptrOf(OUTBOUND), OUTBOUND.byteLength)) return;
    let i = OUTBOUND.byteLength;
    const ps = i;
    while (i < n && load<u8>(p + <usize>i) != 124) i++; // '|'
    const port = digits(p + <usize>ps, i - ps);
    i++;
    while (i < n && load<u8>(p + <usize>i) != 124) i++; // subset
    i++;
    if (i >= n) return;
    this.clusterHostPtr = p + <usize>i;
    this.clusterHostLen = n - i;
    this.clusterPort = port;
  }

  holds(m: DestMatcher): bool {
    if (m.port != 0 && (this.clusterHostLen > 0 ? this.clusterPort : this.authPort) != m.port) return false;
    if (m.host.byteLength > 0) {
      const hp = ptrOf(m.host), hl = m.host.byteLength;
      if (!eqIgnoreCase(this.clusterHostPtr, this.clusterHostLen, hp, hl) && !eqIgnoreCase(this.authHostPtr, this.authHostLen, hp, hl)) return false;
    }
    if (m.serviceNs.byteLength > 0) {
      if (!(this.clusterHostLen > 0 && serviceHolds(m, this.clusterHostPtr, this.clusterHostLen)) &&
        !(this.authHostLen > 0 && serviceHolds(m, this.authHostPtr, this.authHostLen))) return false;
    }
    return true;
  }
}

/** A port (up to 5 digits); 0 when absent or malformed. */
function digits(p: usize, n: i32): u32 {
  const v = decimal(p, n, 5);
  return v < 0 ? 0 : <u32>v;
}
