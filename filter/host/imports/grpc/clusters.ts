// What Envoy's cluster manager resolves a gRPC service's cluster to: one or
// more endpoints ("host:port", several comma-separated). A stream goes to the
// cluster's current endpoint; one that fails to answer makes the next stream
// try the next endpoint (Envoy would load-balance and eject failing hosts;
// sticking to one healthy endpoint is enough for a local stand-in).

export class ClusterAddresses {
  private readonly endpoints = new Map<string, string[]>();
  private readonly current = new Map<string, number>();
  private readonly fallback: string[] | undefined;

  constructor(clusters: Record<string, string | readonly string[]>, defaultCluster?: string | readonly string[]) {
    for (const [name, v] of Object.entries(clusters)) this.endpoints.set(name, split(v));
    this.fallback = defaultCluster === undefined ? undefined : split(defaultCluster);
  }

  /** The endpoint the next stream to `cluster` uses, or undefined for an unknown cluster. */
  pick(cluster: string): string | undefined {
    const list = this.endpoints.get(cluster) ?? this.fallback;
    if (!list || list.length === 0) return undefined;
    if (!this.endpoints.has(cluster)) this.endpoints.set(cluster, list);
    return list[(this.current.get(cluster) ?? 0) % list.length];
  }

  /** A stream to `address` failed before any answer: clusters on it move to their next endpoint. */
  failed(address: string): void {
    for (const [name, list] of this.endpoints) {
      const i = (this.current.get(name) ?? 0) % list.length;
      if (list[i] === address) this.current.set(name, (i + 1) % list.length);
    }
  }
}

function split(v: string | readonly string[]): string[] {
  const all = typeof v === "string" ? v.split(",") : [...v];
  return all.map((a) => a.trim()).filter((a) => a.length > 0);
}
