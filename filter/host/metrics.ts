// Filter metrics (proxy_define_metric & co). As in Envoy, a metric is a
// process-wide stat identified by name: every worker VM that defines the same
// name shares it (counters add up, a gauge holds the last value set).

export type MetricKind = "counter" | "gauge" | "histogram";

export interface Metric {
  name: string;
  kind: MetricKind;
  /** Counter total or gauge value; for histograms the number of samples. */
  value: bigint;
  /** Histograms: sum of recorded values. */
  sum: bigint;
}

export class MetricStore {
  private readonly byName = new Map<string, Metric>();

  define(name: string, kind: MetricKind): Metric {
    let m = this.byName.get(name);
    if (!m) {
      m = { name, kind, value: 0n, sum: 0n };
      this.byName.set(name, m);
    }
    return m;
  }

  get(name: string): Metric | undefined {
    return this.byName.get(name);
  }

  all(): Metric[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** name -> value as numbers (histograms: sample count). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.all()) out[m.name] = Number(m.value);
    return out;
  }

  /** Prometheus text exposition (names sanitised to [a-zA-Z0-9_:]). */
  prometheus(): string {
    const lines: string[] = [];
    for (const m of this.all()) {
      const name = m.name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1");
      if (m.kind === "histogram") {
        lines.push(`# TYPE ${name} summary`, `${name}_count ${m.value}`, `${name}_sum ${m.sum}`);
      } else {
        lines.push(`# TYPE ${name} ${m.kind}`, `${name} ${m.value}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
