// `hfi policy get|list|describe|status`: reading policies and convergence.
import { describePause } from "../pause.ts";
import type { PauseStateOut } from "../client/index.ts";
import { Command, InvalidArgumentError } from "commander";
import type { PolicyClient } from "../client/index.ts";
import type { FaultCountStatusOut, GetPolicyStatusResponseOut, InvalidPolicyOut, PolicyOut, PolicyStatusOut, ProxyRefOut } from "../../proto/types.ts";
import { examples, outputOption, print, toJson, toYaml, withClient, type OutputFormat } from "./common.ts";
import type { Doc } from "./document.ts";
import {
  ageText,
  expiresText,
  faultText,
  fmtDuration,
  identityText,
  proxyLabel,
  workloadText,
  isoTime,
  matchText,
  policyFaults,
  selectorText,
  targetText,
  directionText,
} from "./summary.ts";
import { renderTable, type Column } from "./table.ts";
import { faultDetails } from "../../policy/fault-kinds.ts";
import { colorEnabled, outputWidth, painter } from "./style.ts";


const somethingPaused = (s: PauseStateOut | null | undefined) => !!s && (s.all || s.namespaces.length > 0 || s.policies.length > 0);

const tableOpts = () => ({ width: outputWidth(), color: colorEnabled() });

// ── get / list ──────────────────────────────────────────────────────────────

// Which cells give way first on a narrow terminal: faults, then targets; names last.
export const POLICY_COLUMNS: Column[] = [
  { header: "NAME", min: 12, shrinkFirst: 2 },
  { header: "TARGET", min: 8 },
  { header: "DIR", min: 3 },
  { header: "RULES", right: true },
  { header: "FAULTS", min: 12, shrinkFirst: 0 },
  { header: "EXPIRES", min: 7 },
  { header: "AGE", min: 3 },
];

function policyRow(p: PolicyOut): string[] {
  return [
    p.metadata?.name ?? "",
    targetText(p.spec?.selector),
    directionText(p.spec?.direction),
    String(p.spec?.rules?.length ?? 0),
    policyFaults(p),
    expiresText(p.metadata?.expiresAtUnixMs ?? 0),
    ageText(p.metadata?.updatedAtUnixMs ?? 0),
  ];
}

// The document writer walks the schema by reflection (protobufjs): loaded
// only for JSON/YAML, so a table (`hfi policy list`) loads no protobuf reflection.
const documentWriter = () => import("./document.ts");
const reflection = () => import("../../policy/fields.ts");

async function documents(policies: PolicyOut[]): Promise<Doc[]> {
  const { policyDocument } = await documentWriter();
  return policies.map((p) => policyDocument(p));
}

/** Policies in the chosen format. JSON/YAML round-trip through `apply -f -`. */
export async function renderPolicies(policies: PolicyOut[], format: OutputFormat, single: boolean): Promise<string> {
  switch (format) {
    case "json": {
      const docs = await documents(policies);
      // One policy: the document itself; several: {"policies": [...]}, as ListPoliciesResponse.
      return toJson(single ? docs[0] : { policies: docs });
    }
    case "yaml":
      // Several: a multi-document stream.
      return (await Promise.all((await documents(policies)).map((d) => toYaml(d)))).join("---\n");
    default:
      if (policies.length === 0) return "No policies.\n";
      return renderTable(POLICY_COLUMNS, policies.map(policyRow), tableOpts());
  }
}

const INVALID_COLUMNS: Column[] = [
  { header: "NAME", min: 12, shrinkFirst: 1 },
  { header: "VERSION", right: true },
  { header: "BYTES", right: true },
  { header: "REASON", min: 12, shrinkFirst: 0 },
];

/** Stored values that are not valid policies, in the chosen format. */
export async function renderInvalid(entries: InvalidPolicyOut[], format: OutputFormat): Promise<string> {
  const docs = entries.map((e) => ({ name: e.name, version: e.version, sizeBytes: e.sizeBytes, error: e.error }));
  switch (format) {
    case "json":
      return toJson({ invalidPolicies: docs });
    case "yaml":
      return toYaml({ invalidPolicies: docs });
    default:
      if (entries.length === 0) return "No invalid entries.\n";
      return renderTable(
        INVALID_COLUMNS,
        entries.map((e) => [e.name, String(e.version), String(e.sizeBytes), e.error]),
        tableOpts(),
      );
  }
}

/** Pointer to `list --invalid` when the store holds values that are not served. */
export function invalidHint(n: number): string {
  return `${n} invalid entr${n === 1 ? "y" : "ies"} in the store, not served to proxies: see \`hfi policy list --invalid\`; \`hfi policy delete NAME\` removes one`;
}

function getAction() {
  return withClient(async (client, c, name?: unknown) => {
    const opts = c.opts() as { output: OutputFormat; invalid?: boolean };
    const format = opts.output;
    if (typeof name === "string" && name) {
      const p = await client.getPolicy(name);
      process.stdout.write(await renderPolicies([p], format, true));
    } else {
      const { policies, invalid, pause } = await client.listPolicies();
      if (opts.invalid) {
        process.stdout.write(await renderInvalid(invalid, format));
        return;
      }
      process.stdout.write(await renderPolicies(policies, format, false));
      if (format === "table" && somethingPaused(pause)) process.stdout.write(`\n${describePause(pause)}\n`);
      if (invalid.length > 0) process.stderr.write(`${invalidHint(invalid.length)}\n`);
    }
  });
}

export function getCommand(): Command {
  const cmd = new Command("get")
    .description("show one policy, or every policy when NAME is omitted")
    .argument("[name]", "policy name")
    .addOption(outputOption());
  examples(cmd, ["npx hfi policy get", "npx hfi policy get frontend-slow -o yaml > frontend-slow.yaml"]);
  return cmd.action(getAction());
}

export function listCommand(): Command {
  const cmd = new Command("list")
    .alias("ls")
    .description("list every policy (sorted by name)")
    .option("--invalid", "list the values in the store that are not valid policies (written by another tool), with the reason")
    .addOption(outputOption());
  examples(cmd, ["npx hfi policy list", "npx hfi policy list -o json", "npx hfi policy list --invalid"]);
  return cmd.action(getAction());
}

// ── describe ────────────────────────────────────────────────────────────────

/** Counts over every replica's proxies (the lists may be truncated; servers before the counts send 0). */
export function statusCounts(s: PolicyStatusOut): { acked: number; nacked: number; pending: number } {
  return {
    acked: Math.max(s.ackedCount ?? 0, s.acked?.length ?? 0),
    nacked: Math.max(s.nackedCount ?? 0, s.nacked?.length ?? 0),
    pending: Math.max(s.pendingCount ?? 0, s.pending?.length ?? 0),
  };
}

function convergenceLine(s: PolicyStatusOut | undefined): string {
  if (!s) return "no status reported";
  const { acked, nacked, pending } = statusCounts(s);
  if (s.targetedProxies === 0 && !nacked) return "no connected proxy is targeted";
  let line = `${acked} of ${s.targetedProxies} targeted prox${s.targetedProxies === 1 ? "y" : "ies"} ACKed`;
  if (nacked) line += `, ${nacked} NACKed`;
  if (pending) line += `, ${pending} pending`;
  return line;
}

function refLines(label: string, refs: ProxyRefOut[] | undefined, withError: boolean): string[] {
  return (refs ?? []).map((r) => `  ${label.padEnd(8)} ${identityText(r.identity)}${withError && r.error ? `: ${r.error}` : ""}`);
}

export function describeText(p: PolicyOut, status: PolicyStatusOut | undefined, color: boolean): string {
  const paint = painter(color);
  const m = p.metadata;
  const field = (k: string, v: string) => `${paint("bold", `${k}:`.padEnd(13))} ${v}`;
  const labels = Object.entries(m?.labels ?? {})
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const lines = [
    field("Name", m?.name ?? ""),
    field("Labels", labels || "<none>"),
    field("Version", String(m?.version ?? 0)),
    field("Created", `${isoTime(m?.createdAtUnixMs ?? 0)} (${ageText(m?.createdAtUnixMs ?? 0)} ago)`),
    field("Updated", `${isoTime(m?.updatedAtUnixMs ?? 0)} (${ageText(m?.updatedAtUnixMs ?? 0)} ago)`),
    field(
      "Expires",
      m?.expiresAtUnixMs ? `${expiresText(m.expiresAtUnixMs)} (${isoTime(m.expiresAtUnixMs)})` : "never",
    ),
    field("Priority", String(p.spec?.priority ?? 0)),
    field("Paused", status?.paused ? "yes (hfi resume to undo)" : "no"),
    field("Selector", selectorText(p.spec?.selector)),
    field("Direction", p.spec?.direction === "outbound" ? "outbound (calls the workload makes)" : "inbound (requests the workload receives)"),
    `${paint("bold", "Rules:")}`,
  ];
  (p.spec?.rules ?? []).forEach((r, i) => {
    lines.push(`  [${i}] match: ${matchText(r.match)}`);
    lines.push(`      fault: ${faultText(r.fault)}`);
    for (const d of faultDetails(r.fault)) lines.push(`      ${d}`);
    if (r.fault?.durationSeconds && m?.updatedAtUnixMs) {
      const left = m.updatedAtUnixMs + r.fault.durationSeconds * 1000 - Date.now();
      lines.push(left > 0 ? `      active for another ${fmtDuration(left)}` : "      no longer injecting (duration_seconds over)");
    }
  });
  const conv = convergenceLine(status);
  const counts = status ? statusCounts(status) : undefined;
  const ok = status && status.targetedProxies > 0 && counts!.acked === status.targetedProxies;
  lines.push(field("Convergence", counts?.nacked ? paint("red", conv) : ok ? paint("green", conv) : conv));
  lines.push(...refLines("ACKed", status?.acked, false));
  lines.push(...refLines("NACKed", status?.nacked, true).map((l) => paint("red", l)));
  lines.push(...refLines("pending", status?.pending, false));
  const injected = status ? faultCountLines([status], true) : [];
  lines.push(injected.length ? paint("bold", "Faults:") : field("Faults", "none counted yet"));
  lines.push(...injected);
  return lines.join("\n") + "\n";
}

export function describeCommand(): Command {
  const cmd = new Command("describe")
    .description("one policy in detail: selector, rules, expiry and which proxies have applied it")
    .argument("<name>", "policy name")
    .addOption(outputOption());
  examples(cmd, ["npx hfi policy describe frontend-slow"]);
  return cmd.action(
    withClient(async (client: PolicyClient, c, name: unknown) => {
      const format = (c.opts() as { output: OutputFormat }).output;
      const p = await client.getPolicy(name as string);
      const st = await client.getPolicyStatus(name as string);
      const status = st.policies.find((s) => s.name === name);
      if (format === "table") {
        process.stdout.write(describeText(p, status, colorEnabled()));
        return;
      }
      const [{ convertMessage, policyDocument }, { messageType }] = await Promise.all([documentWriter(), reflection()]);
      const out: Doc = { policy: policyDocument(p) };
      if (status) out.status = convertMessage(messageType("PolicyStatus"), status) as Doc;
      process.stdout.write(format === "json" ? toJson(out) : await toYaml(out));
    }),
  );
}

// ── status ──────────────────────────────────────────────────────────────────

const STATUS_COLUMNS: Column[] = [
  { header: "POLICY", min: 12, shrinkFirst: 2 },
  { header: "VER", right: true },
  { header: "TARGET", min: 8 },
  { header: "DIR", min: 3 },
  { header: "FAULTS", min: 11, shrinkFirst: 0 },
  { header: "ACKED", right: true, color: (t) => (/^(\d+)\/\1$/.test(t) && t !== "0/0" ? "green" : undefined) },
  { header: "NACKED", right: true, color: (t) => (t !== "0" ? "red" : undefined) },
  { header: "PENDING", right: true },
  { header: "EXPIRES", min: 7 },
];

const PROXY_COLUMNS: Column[] = [
  { header: "PROXY", min: 12, shrinkFirst: 2 },
  { header: "WORKLOAD", min: 8 },
  { header: "DIR", min: 3 },
  { header: "STATE", color: (t) => (t.startsWith("ACK") ? "green" : t.startsWith("NACK") ? "red" : "yellow") },
  { header: "VERSION", min: 8, shrinkFirst: 0 },
  { header: "POLICIES", min: 8, shrinkFirst: 0 },
];

function proxyState(p: GetPolicyStatusResponseOut["proxies"][number]): string {
  if (p.nackedVersion && p.nackedVersion === p.sentVersion) return "NACK";
  if (p.ackedVersion && p.ackedVersion === p.sentVersion) return "ACK";
  return "PENDING";
}

/** "abort 503: 60, delay: 60 (0.3 s total), matched 60, skipped 12 (percentage)" for one count entry. */
function countsText(t: FaultCountStatusOut["totals"], status: number): string {
  const n = (v: number | undefined) => Number(v ?? 0);
  const parts: string[] = [];
  if (n(t?.aborted)) parts.push(`abort ${status}: ${n(t?.aborted)}`);
  if (n(t?.delayed)) parts.push(`delay: ${n(t?.delayed)} (${(n(t?.delayMs) / 1000).toFixed(3)} s total)`);
  parts.push(`matched ${n(t?.matched)}`);
  if (n(t?.skippedPercentage)) parts.push(`skipped ${n(t?.skippedPercentage)} (percentage)`);
  if (n(t?.skippedMaxActive)) parts.push(`skipped ${n(t?.skippedMaxActive)} (max_active_faults)`);
  return parts.join(", ");
}

/** The per-policy fault counts: per rule and workload, then (withProxies) per proxy. */
export function faultCountLines(policies: PolicyStatusOut[], withProxies: boolean): string[] {
  const out: string[] = [];
  for (const p of policies) {
    for (const f of p.faults ?? []) {
      if (f.proxyId && !withProxies) continue;
      const who = f.proxyId ? `proxy ${f.proxyId}` : `${f.service || "?"}.${f.namespace || "?"}`;
      out.push(`  ${p.name} rule ${f.rule} ${who}: ${countsText(f.totals, f.abortStatus)} (since ${isoTime(Number(f.sinceUnixMs))})`);
    }
  }
  return out;
}

export function statusText(st: GetPolicyStatusResponseOut): string {
  const opts = tableOpts();
  const paint = painter(opts.color);
  const out: string[] = [];
  if (somethingPaused(st.pause)) out.push(paint("yellow", describePause(st.pause)) + "\n\n");
  if (st.policies.length === 0) out.push("No policies.\n");
  else
    out.push(
      renderTable(
        STATUS_COLUMNS,
        st.policies.map((s) => [
          s.paused ? `${s.name} (paused)` : s.name,
          String(s.version),
          targetText(s.target),
          directionText(s.direction),
          s.faultTypes.join("+") || "-",
          `${statusCounts(s).acked}/${s.targetedProxies}`,
          String(statusCounts(s).nacked),
          String(statusCounts(s).pending),
          expiresText(s.expiresAtUnixMs),
        ]),
        opts,
      ),
    );
  const counts = faultCountLines(st.policies, st.policies.length === 1);
  if (counts.length) out.push("\nFaults injected:\n" + counts.join("\n") + "\n");
  out.push("\n");
  if (st.partial) out.push(paint("yellow", `Partial: ${st.partial} (showing this replica's proxies only)`) + "\n");
  if (st.proxies.length === 0) out.push("No proxies connected.\n");
  else {
    out.push(
      renderTable(
        PROXY_COLUMNS,
        st.proxies.map((p) => [
          proxyLabel(p.identity),
          workloadText(p.identity),
          directionText(p.identity?.direction),
          // idle: a VM that has handled no request (Envoy's main-thread VM never does).
          p.idle ? `${proxyState(p)} idle` : proxyState(p),
          (proxyState(p) === "NACK" ? p.nackedVersion : p.ackedVersion || p.sentVersion) || "-",
          p.policies.length ? `${p.policies.length}: ${p.policies.join(",")}` : "0",
        ]),
        opts,
      ),
    );
    for (const p of st.proxies) {
      if (p.nackError) out.push(paint("red", `NACK ${proxyLabel(p.identity)}: ${p.nackError}`) + "\n");
    }
    out.push(...identitySources(st.proxies));
    const total = st.proxiesTotal ?? st.proxies.length;
    if (total > st.proxies.length) out.push(`Showing ${st.proxies.length} of ${total} proxies (--proxies N lists more, up to 10000).\n`);
  }
  const invalid = st.invalidPolicies ?? [];
  if (invalid.length > 0) {
    out.push("\n" + paint("red", `Invalid entries (not served): ${invalid.length}`) + "\n");
    for (const e of invalid) out.push(paint("red", `  ${e.name} (version ${e.version}): ${e.error}`) + "\n");
    out.push(`${invalidHint(invalid.length)}\n`);
  }
  return out.join("");
}

/** Where each workload's service (and version) name came from, once per distinct answer. */
function identitySources(proxies: GetPolicyStatusResponseOut["proxies"]): string[] {
  const seen = new Map<string, number>();
  for (const p of proxies) {
    const id = p.identity;
    if (!id?.serviceSource) continue;
    const v = id.version ? `, version ${id.version} from ${id.versionSource}` : "";
    const key = `${workloadText(id)}: service from ${id.serviceSource}${v}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].map(([k, n]) => `Identity ${k} (${n} ${n === 1 ? "proxy" : "proxies"})\n`);
}

function parseProxies(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10_000) throw new InvalidArgumentError("must be an integer between 1 and 10000");
  return Number(v);
}

export function statusCommand(): Command {
  const cmd = new Command("status")
    .description("per policy and per proxy: which version is applied, ACK/NACK")
    .argument("[name]", "only this policy")
    .option("--proxies <n>", "proxies listed at most (counts are always exact; server default 100, at most 10000)", parseProxies)
    .addOption(outputOption());
  examples(cmd, ["npx hfi policy status", "npx hfi policy status frontend-slow -o json"]);
  return cmd.action(
    withClient(async (client, c, name?: unknown) => {
      const { output: format, proxies } = c.opts() as { output: OutputFormat; proxies?: number };
      const st = await client.getPolicyStatus(typeof name === "string" ? name : "", { proxyLimit: proxies ?? 0 });
      if (format === "table") process.stdout.write(statusText(st));
      else {
        const [{ convertMessage }, { messageType }] = await Promise.all([documentWriter(), reflection()]);
        const doc = convertMessage(messageType("GetPolicyStatusResponse"), st);
        process.stdout.write(format === "json" ? toJson(doc) : await toYaml(doc));
      }
    }),
  );
}
