// Routing of `hfi sidecar`, modelling what Envoy's stream info holds for a
// request once Istio's route is resolved (before any HTTP filter runs):
// xds.cluster_name (cluster_name before Envoy 1.22), xds.route_name,
// xds.virtual_host_name, xds.listener_direction (1 inbound, 2 outbound).
// Inbound the cluster is inbound|PORT||; outbound it is
// outbound|PORT||<FQDN>, the same for every name a caller may use for the
// service (Istio's virtual host domains: svc, svc.ns, svc.ns.svc, FQDN,
// each with :port). Calls to no known destination go to PassthroughCluster.
import type { PropertyValue } from "../properties.ts";

/** An outbound destination: a mesh service (FQDN) and port, served locally by `url`. */
export interface Destination {
  host: string;
  port: number;
  url: string;
}

export interface Route {
  target: URL;
  /** Per-stream properties (fresh object per stream: upstream.* is added when the upstream answers). */
  properties(): Record<string, PropertyValue>;
}

const INBOUND = 1n;
const OUTBOUND = 2n;

function props(cluster: string, vhost: string, direction: bigint): Record<string, PropertyValue> {
  const xds = { cluster_name: cluster, route_name: "default", virtual_host_name: vhost, listener_direction: direction };
  // Envoy before 1.22 exposed these as top-level properties.
  return { xds, cluster_name: cluster, route_name: "default", listener_direction: direction };
}

/** Properties of a request no route matched (no cluster). */
export function noRouteProperties(): Record<string, PropertyValue> {
  return { xds: { listener_direction: OUTBOUND }, listener_direction: OUTBOUND };
}

export function inboundRoute(upstream: URL): Route {
  const port = Number(upstream.port || 80);
  return { target: upstream, properties: () => props(`inbound|${port}||`, `inbound|http|${port}`, INBOUND) };
}

/** "productcatalog.demo.svc.cluster.local:8080=http://127.0.0.1:9001" -> Destination. */
export function parseDestination(v: string): Destination {
  const eq = v.indexOf("=");
  const hp = eq > 0 ? v.slice(0, eq) : "";
  const url = eq > 0 ? v.slice(eq + 1) : "";
  const colon = hp.lastIndexOf(":");
  const host = colon > 0 ? hp.slice(0, colon) : "";
  const port = Number(colon > 0 ? hp.slice(colon + 1) : NaN);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535 || !url)
    throw new Error(`invalid destination "${v}" (want HOST:PORT=URL, e.g. productcatalog.demo.svc.cluster.local:8080=http://127.0.0.1:9001)`);
  return { host: host.toLowerCase(), port, url };
}

/** The names a caller in `namespace` may use for `fqdn` (Istio's virtual host domains, without ports). */
export function hostAliases(fqdn: string, namespace: string): string[] {
  const m = /^([^.]+)\.([^.]+)\.svc(\..+)?$/.exec(fqdn);
  if (!m) return [fqdn];
  const [, svc, ns] = m;
  const out = [fqdn, `${svc}.${ns}.svc`, `${svc}.${ns}`];
  if (ns === namespace) out.push(svc!);
  return [...new Set(out)];
}

/**
 * The outbound listener of a workload in `namespace`: the route for a
 * request's authority. The table (every alias and port of every
 * destination) is built once; a lookup is one map read.
 */
export function outboundRoutes(destinations: Destination[], namespace: string, passthrough: URL | undefined): (authority: string) => Route | undefined {
  const table = new Map<string, Route>();
  for (const d of destinations) {
    const route: Route = { target: new URL(d.url), properties: () => props(`outbound|${d.port}||${d.host}`, `${d.host}:${d.port}`, OUTBOUND) };
    // The first destination of a name and port wins (as the list is read in order).
    for (const alias of hostAliases(d.host, namespace)) if (!table.has(`${alias}:${d.port}`)) table.set(`${alias}:${d.port}`, route);
  }
  const fallback: Route | undefined = passthrough && { target: passthrough, properties: () => props("PassthroughCluster", "allow_any", OUTBOUND) };
  return (authority) => {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority.toLowerCase());
    const host = m?.[1] ?? authority.toLowerCase();
    const port = m?.[2] ? Number(m[2]) : 80;
    return table.get(`${host}:${port}`) ?? fallback;
  };
}
