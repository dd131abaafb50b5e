// k8s/monitoring: the Telemetry resource against Istio's schema, the
// PrometheusRule through `promtool check rules` and `promtool test rules`
// (every alert fires on the series it is about), the dashboard's queries
// through promtool's parser, and every metric the alerts and the dashboard
// query is one the tests scrape: from a real server's /metrics after the
// compiled filter reported faults, and the filter's own stats as Envoy
// exports them (wasmcustom.x → wasmcustom_x).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { test } from "uvu";
import * as assert from "uvu/assert";
import YAML from "yaml";
import { renderKustomization, type K8sObject } from "../../scripts/k8s/render.ts";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { loadFilter, waitAcked, waitFor } from "../filter/helpers.ts";

const DIR = "k8s/monitoring";
const objects = () => renderKustomization(DIR).map((r) => r.object as K8sObject & { spec: Record<string, any> });
const find = (kind: string) => objects().filter((o) => o.kind === kind);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-monitoring-"));
/** Metrics that Istio / Prometheus provide, not HFI. */
const EXTERNAL = new Set(["up", "istio_requests_total"]);

function promtool(...args: string[]): string {
  try {
    return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

const rulesFile = () => {
  const [rule] = find("PrometheusRule");
  const f = path.join(tmp, "hfi-rules.yaml");
  fs.writeFileSync(f, YAML.stringify({ groups: rule!.spec.groups }));
  return f;
};

const dashboard = () => JSON.parse(fs.readFileSync(path.join(DIR, "grafana-dashboard.json"), "utf8")) as { panels: { id: number; title: string; targets: { expr: string }[] }[]; templating: { list: { query: unknown }[] } };

/** Dashboard queries with Grafana's variables replaced, as Prometheus would get them. */
const dashboardExprs = () =>
  dashboard().panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll("$__rate_interval", "5m").replaceAll("$policy", ".*")));

const KEYWORDS = new Set(["sum", "max", "min", "avg", "count", "rate", "increase", "irate", "absent", "histogram_quantile", "by", "without", "on", "ignoring", "and", "or", "unless", "bool", "offset", "label_values"]);

/** Metric names a PromQL expression selects. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "");
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((n) => !KEYWORDS.has(n) && !/^\d/.test(n));
}

test("Telemetry: valid against Istio's schema, tags read the filter's markers", () => {
  const require = createRequire(import.meta.url);
  const { Telemetry } = require("@kubernetes-models/istio/telemetry.istio.io/v1alpha1/Telemetry");
  const [t] = find("Telemetry");
  assert.ok(t, "a Telemetry object");
  new Telemetry({ ...t, apiVersion: "telemetry.istio.io/v1alpha1" }).validate();
  const tags = t!.spec.metrics[0].overrides.flatMap((o: { tagOverrides: Record<string, { value: string }> }) => Object.values(o.tagOverrides).map((v) => v.value));
  assert.ok(tags.includes("response.headers['x-hfi-fault-kind']"));
  assert.ok(tags.includes("response.headers['x-hfi-fault']"));
});

test("PrometheusRule: promtool check rules, and every alert fires on its series (promtool test rules)", () => {
  const file = rulesFile();
  assert.match(promtool("check", "rules", file), "SUCCESS");
  const series = (name: string, values: string) => ({ series: name, values });
  const unit = {
    rule_files: [file],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: [
          series('up{job="hfi-control-plane"}', "0x10"),
          series('hfi_config_streams_by_state{state="nacked",version="v2"}', "1x10"),
          series('hfi_config_streams_by_state{state="pending",version="v2"}', "2x10"),
          series('wasmcustom_hfi_config_nacks_total{namespace="demo",pod="web-1"}', "0 1 2 3 4 5 6 7 8 9 10"),
          series('hfi_fault_requests_skipped_total{policy="p",rule="0",reason="max_active_faults",service="web",namespace="demo"}', "0+5x10"),
          series("hfi_fault_series_overflow_total", "0+1x10"),
          series("hfi_pause_active", "1x70"),
        ],
        alert_rule_test: [
          { eval_time: "5m", alertname: "HfiControlPlaneDown", exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: "No HFI control-plane replica is being scraped", description: "Filters keep their last snapshot (faults keep running, new policies, deletes and hfi pause do not reach them)." } }] },
          { eval_time: "5m", alertname: "HfiSnapshotNacked", exp_alerts: [{ exp_labels: { severity: "warning", version: "v2" }, exp_annotations: { summary: "1 proxies rejected snapshot v2", description: "See `hfi policy status` for the proxies and their reasons; they keep the previous snapshot." } }] },
          { eval_time: "8m", alertname: "HfiProxiesNotConverging", exp_alerts: [{ exp_labels: { severity: "warning" }, exp_annotations: { summary: "2 proxies have not ACKed their snapshot for 5 minutes", description: "A proxy that neither ACKs nor NACKs is stuck or overloaded; `hfi policy status` lists it as PENDING." } }] },
          { eval_time: "5m", alertname: "HfiFilterRejectingConfig", exp_alerts: [{ exp_labels: { severity: "warning", namespace: "demo", pod: "web-1" }, exp_annotations: { summary: "The HFI filter in demo/web-1 rejected a snapshot", description: "The sidecar's own count (wasmcustom_hfi_config_nacks_total); the reason is in its log and in `hfi policy status`." } }] },
          { eval_time: "5m", alertname: "HfiFaultsAtMaxActive", exp_alerts: [{ exp_labels: { severity: "info", policy: "p", service: "web", namespace: "demo" }, exp_annotations: { summary: "Policy p hit max_active_faults on web.demo", description: "Requests over the limit passed without their fault; the experiment is weaker than configured." } }] },
          { eval_time: "5m", alertname: "HfiFaultSeriesOverflow", exp_alerts: [{ exp_labels: { severity: "info" }, exp_annotations: { summary: 'Fault counts beyond --max-fault-series are folded into policy="_overflow"', description: "Raise --max-fault-series or delete old policies." } }] },
          { eval_time: "61m", alertname: "HfiPausedForLong", exp_alerts: [{ exp_labels: { severity: "info" }, exp_annotations: { summary: "HFI has been paused for an hour", description: "Nothing (or part of the mesh) injects faults until `hfi resume`." } }] },
        ],
      },
    ],
  };
  const unitFile = path.join(tmp, "hfi-rules.test.yaml");
  fs.writeFileSync(unitFile, YAML.stringify(unit));
  assert.match(promtool("test", "rules", unitFile), "SUCCESS");
  // Every alert of the file has a case above.
  const alerts = find("PrometheusRule")[0]!.spec.groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((r) => r.alert));
  assert.equal([...alerts].sort(), unit.tests[0]!.alert_rule_test.map((t) => t.alertname).sort());
});

test("dashboard: importable JSON whose queries parse (promtool)", () => {
  const d = dashboard();
  const ids = d.panels.map((p) => p.id);
  assert.is(new Set(ids).size, ids.length, "unique panel ids");
  assert.ok(d.panels.every((p) => p.targets.length > 0 && p.targets.every((t) => t.expr)));
  const f = path.join(tmp, "dashboard-as-rules.yaml");
  fs.writeFileSync(f, YAML.stringify({ groups: [{ name: "dashboard", rules: dashboardExprs().map((expr, i) => ({ record: `hfi:dashboard:${i}`, expr })) }] }));
  assert.match(promtool("check", "rules", f), "SUCCESS");
});

test("monitors select the control plane's pods and the sidecars' Envoy stats", () => {
  const [cp, sidecars] = find("PodMonitor");
  const base = renderKustomization("k8s").map((r) => r.object as K8sObject & { spec: Record<string, any> });
  const deploy = base.find((o) => o.kind === "Deployment" && o.metadata.name === "hfi-control-plane")!;
  const podLabels = deploy.spec.template.metadata.labels as Record<string, string>;
  for (const [k, v] of Object.entries(cp!.spec.selector.matchLabels as Record<string, string>)) assert.is(podLabels[k], v, k);
  assert.is(podLabels[cp!.spec.jobLabel], "hfi-control-plane", "job label value used by HfiControlPlaneDown");
  assert.is(deploy.spec.template.metadata.annotations["prometheus.io/path"], "/metrics", "merged by pilot-agent on :15020");
  assert.is(sidecars!.spec.podMetricsEndpoints[0].port, "http-envoy-prom");
  assert.is(sidecars!.spec.podMetricsEndpoints[0].metricRelabelings[0].regex, "wasmcustom_hfi_.*");
});

test("every metric the alerts and the dashboard query is one the server or the filter exports", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const vm = await loadFilter(server.grpcAddress, { service: "web", namespace: "demo" }, { pluginConfig: JSON.stringify({ report_interval_ms: 100 }) });
  try {
    await pc.apply({ policy: { metadata: { name: "p" }, spec: { selector: {}, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] } } });
    await waitAcked(pc, "p", 1);
    await vm.request({ path: "/" });
    await waitFor(async () => (await (await fetch(`${server.baseUrl}/metrics`)).text()).includes('hfi_faults_injected_total{policy="p"'), "fault counts exported");
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
    // Envoy's Prometheus names for the filter's stats.
    for (const name of Object.keys(vm.metrics())) exported.add(name.replace(/\./g, "_"));
    const rules = find("PrometheusRule")[0]!.spec.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr));
    const used = new Set([...rules, ...dashboardExprs(), "hfi_faults_injected_total"].flatMap(metricNames));
    const missing = [...used].filter((n) => !exported.has(n) && !EXTERNAL.has(n));
    assert.equal(missing, [], `queried but not exported: ${missing.join(", ")}`);
    assert.ok(used.has("wasmcustom_hfi_config_nacks_total") && used.has("hfi_config_streams_by_state"), "both sources are used");
  } finally {
    await vm.close();
    pc.close();
    await server.close();
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
