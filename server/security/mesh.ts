// Mesh identity: the caller's SPIFFE ID as the local Istio sidecar forwards
// it in x-forwarded-client-cert (XFCC) after terminating the caller's mTLS.
// The header is believed only on connections from a trusted proxy address
// (the sidecar's inbound source, 127.0.0.6 in Istio), never from anyone else:
// any client can write the header itself.
import net from "node:net";

/** A verified caller: the SPIFFE ID and, for Kubernetes IDs, namespace and service account. */
export interface MeshPeer {
  /** e.g. spiffe://cluster.local/ns/demo/sa/default */
  uri: string;
  /** The ID without "spiffe://" (the form Istio AuthorizationPolicy principals use). */
  principal: string;
  trustDomain: string;
  namespace?: string;
  serviceAccount?: string;
}

/** "::ffff:127.0.0.6" → "127.0.0.6"; other addresses as they are. */
export function normalizeIp(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return v4 ? v4[1]! : ip.toLowerCase();
}

/** The address of a grpc-js peer string ("127.0.0.6:51234", "::1:51234"). */
export function peerAddress(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  const i = peer.lastIndexOf(":");
  const host = (i > 0 && /^\d+$/.test(peer.slice(i + 1)) ? peer.slice(0, i) : peer).replace(/^\[|\]$/g, "");
  return net.isIP(host) ? normalizeIp(host) : undefined;
}

/** Splits on `sep` outside double quotes. */
function splitUnquoted(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && quoted && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, "$1");
  return t;
}

/**
 * XFCC elements (Envoy's format: elements separated by ",", key=value
 * pairs by ";", values optionally double-quoted), each as lower-case key →
 * value. Istio's sidecars run APPEND_FORWARD: the element the sidecar added
 * is the last one; earlier ones came from the caller and prove nothing.
 */
export function parseXfcc(header: string): Map<string, string>[] {
  return splitUnquoted(header, ",")
    .filter((e) => e.trim() !== "")
    .map((element) => {
      const pairs = new Map<string, string>();
      for (const pair of splitUnquoted(element, ";")) {
        const eq = pair.indexOf("=");
        if (eq <= 0) continue;
        const key = pair.slice(0, eq).trim().toLowerCase();
        // The first URI SAN counts (Envoy writes one URI per element).
        if (!pairs.has(key)) pairs.set(key, unquote(pair.slice(eq + 1)));
      }
      return pairs;
    });
}

/** spiffe://<td>/ns/<ns>/sa/<sa> (or any other SPIFFE ID, without namespace). */
export function parseSpiffe(uri: string): MeshPeer | undefined {
  const m = /^spiffe:\/\/([^/]+)(\/.*)?$/.exec(uri);
  if (!m) return undefined;
  const k8s = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(m[2] ?? "");
  return {
    uri,
    principal: uri.slice("spiffe://".length),
    trustDomain: m[1]!,
    ...(k8s ? { namespace: k8s[1], serviceAccount: k8s[2] } : {}),
  };
}

export interface MeshRequest {
  /** The connection's source address. */
  remoteAddress: string | undefined;
  /** x-forwarded-client-cert as received (joined when repeated). */
  xfcc: string | string[] | undefined;
}

/**
 * The caller's verified mesh identity, or the reason there is none. Only a
 * request from a trusted proxy address counts, and only the last XFCC element.
 */
export function meshPeer(req: MeshRequest, trustedProxies: readonly string[]): { peer: MeshPeer } | { reason: string } {
  const from = req.remoteAddress ? normalizeIp(req.remoteAddress) : undefined;
  const trusted = trustedProxies.join(", ");
  if (!from || !trustedProxies.includes(from)) {
    return { reason: `no mesh identity: the connection comes from ${from ?? "an unknown address"}, not from a trusted proxy (--mesh-trusted-proxies ${trusted})` };
  }
  const header = Array.isArray(req.xfcc) ? req.xfcc.join(",") : req.xfcc;
  if (!header) return { reason: "no mesh identity: the sidecar forwarded no x-forwarded-client-cert (is mTLS on for this port?)" };
  const last = parseXfcc(header).at(-1);
  const uri = last?.get("uri");
  if (!uri) return { reason: "no mesh identity: x-forwarded-client-cert has no URI (SPIFFE ID) in its last element" };
  const peer = parseSpiffe(uri);
  if (!peer) return { reason: `no mesh identity: "${uri}" in x-forwarded-client-cert is not a SPIFFE ID` };
  return { peer };
}
