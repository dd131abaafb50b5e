// Semantic validation and normalisation of a structurally decoded policy.
// Every message here is documented in README.md, "Policy reference"; tests pin them exactly.
import type {
  DestinationOut,
  FaultOut,
  HeaderMatchOut,
  PolicyOut,
  QueryParamMatchOut,
  RequestMatchOut,
  RuleOut,
  StringMatchOut,
} from "../proto/loader.ts";
import { FAULT_KINDS, faultKindChoices, HEADER_NAME, HEADER_NAME_REASON, type FaultCheck } from "./fault-kinds.ts";
import { validateGrpcMatch } from "./grpc-match.ts";
import { validateSourceMatch } from "./source-match.ts";
import { LIMITS } from "./limits.ts";
import { DNS_SUBDOMAIN, LABEL_NAME, RFC1123_LABEL, SERVICE_NAME } from "./names.ts";
import { hfiRegexError } from "./regex.ts";
import { OUTPUT_ONLY_METADATA } from "./fields.ts";
import { lowerCamel, type Decoder } from "./schema.ts";

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

export function validateName(name: string): string | undefined {
  if (name === "") return "is required";
  if (name.length > LIMITS.nameMaxLength) return `must be at most ${LIMITS.nameMaxLength} characters`;
  if (!RFC1123_LABEL.test(name))
    return "must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)";
  return undefined;
}

function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return "invalid label key: the prefix must be a lowercase DNS subdomain";
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return "invalid label key: the name must be 1-63 characters of letters, digits, '-', '_', '.', starting and ending with a letter or digit";
  return undefined;
}

function labelValueError(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > LIMITS.labelValueMaxLength || !LABEL_NAME.test(value))
    return "invalid label value: at most 63 characters of letters, digits, '-', '_', '.', starting and ending with a letter or digit";
  return undefined;
}

export class Validator {
  /** The policy being validated acts on outbound calls (spec.direction). */
  private outbound = false;
  private readonly check: FaultCheck;
  constructor(private readonly d: Decoder) {
    this.check = { err: (p, r) => this.err(p, r), hasError: (p) => this.d.hasError(p) };
  }

  private err(path: string, reason: string): void {
    this.d.error(path, reason);
  }

  private labels(labels: Record<string, string>, at: string): void {
    const keys = Object.keys(labels);
    if (keys.length > LIMITS.maxLabels) this.err(at, `must have at most ${LIMITS.maxLabels} entries (got ${keys.length})`);
    for (const k of keys) {
      const p = `${at}[${JSON.stringify(k)}]`;
      const reason = labelKeyError(k) ?? labelValueError(labels[k]!);
      if (reason) this.err(p, reason);
    }
  }

  /** Validates and normalises in place. `raw` is the input, for presence checks proto3 defaults hide. */
  policy(p: PolicyOut): void {
    if (!p.metadata) this.err("metadata", "is required");
    else {
      const reason = validateName(p.metadata.name);
      if (reason && !this.d.hasError("metadata.name")) this.err("metadata.name", reason);
      this.labels(p.metadata.labels, "metadata.labels");
      const label = p.metadata.versionLabel ?? "";
      if (label.length > LIMITS.versionLabelMaxLength)
        this.err("metadata.version_label", `must be at most ${LIMITS.versionLabelMaxLength} characters`);
      // Output-only fields are accepted (round trip of `get -o yaml`) and ignored.
      for (const k of OUTPUT_ONLY_METADATA) p.metadata[k] = 0;
    }
    if (!p.spec) {
      this.err("spec", "is required");
      return;
    }
    const spec = p.spec;
    spec.selector ??= { service: "", namespace: "", labels: {} };
    const sel = spec.selector;
    if (sel.service !== "" && sel.service !== "*") {
      if (sel.service.length > LIMITS.selectorServiceMaxLength || !SERVICE_NAME.test(sel.service))
        this.err(
          "spec.selector.service",
          `must be "*" or a workload name (letters, digits, '-', '_', '.', at most ${LIMITS.selectorServiceMaxLength} characters)`,
        );
    }
    if (sel.namespace !== "" && sel.namespace !== "*") {
      if (sel.namespace.length > LIMITS.nameMaxLength || !RFC1123_LABEL.test(sel.namespace))
        this.err("spec.selector.namespace", `must be "*" or an RFC 1123 label (a-z, 0-9, '-', at most 63 characters)`);
    }
    this.labels(sel.labels, "spec.selector.labels");
    const dir = spec.direction.toLowerCase();
    if (dir !== "" && dir !== "inbound" && dir !== "outbound")
      this.err("spec.direction", `must be "inbound" or "outbound" (got ${JSON.stringify(spec.direction)})`);
    else spec.direction = dir;
    this.outbound = dir === "outbound";

    if (spec.rules.length === 0 && !this.d.hasError("spec.rules")) this.err("spec.rules", "must have at least one rule");
    if (spec.rules.length > LIMITS.maxRules)
      this.err("spec.rules", `must have at most ${LIMITS.maxRules} rules (got ${spec.rules.length})`);
    spec.rules.forEach((r, i) => this.rule(r, `spec.rules[${i}]`));
  }

  private rule(r: RuleOut, at: string): void {
    if (r.match) this.match(r.match, `${at}.match`);
    if (!r.fault) this.err(`${at}.fault`, "is required");
    else this.fault(r.fault, `${at}.fault`);
  }

  private match(m: RequestMatchOut, at: string): void {
    if (m.method) this.stringMatch(m.method, `${at}.method`, ["exact", "prefix", "regex"]);
    if (m.path) this.stringMatch(m.path, `${at}.path`, ["exact", "prefix", "regex"]);
    if (m.grpc) validateGrpcMatch(m.grpc, `${at}.grpc`, !!m.path, this.check);
    if (m.source) {
      // An outbound filter's caller is the workload itself: who it calls is match.destination.
      if (this.outbound) this.err(`${at}.source`, "is only for inbound policies (on outbound calls the caller is the selected workload; match the callee with destination)");
      else validateSourceMatch(m.source, `${at}.source`, this.check);
    }
    if (m.headers.length > LIMITS.maxHeaderMatches)
      this.err(`${at}.headers`, `must have at most ${LIMITS.maxHeaderMatches} entries (got ${m.headers.length})`);
    m.headers.forEach((h, i) => this.namedMatch(h, `${at}.headers[${i}]`, true));
    if (m.queryParams.length > LIMITS.maxQueryMatches)
      this.err(`${at}.query_params`, `must have at most ${LIMITS.maxQueryMatches} entries (got ${m.queryParams.length})`);
    m.queryParams.forEach((q, i) => this.namedMatch(q, `${at}.query_params[${i}]`, false));
    if (m.destination) this.destination(m.destination, `${at}.destination`);
  }

  private destination(d: DestinationOut, at: string): void {
    if (!this.outbound) {
      this.err(at, 'is only for outbound policies (set spec.direction: outbound)');
      return;
    }
    d.service = d.service.toLowerCase();
    d.namespace = d.namespace.toLowerCase();
    d.host = d.host.toLowerCase();
    if (d.service === "" && d.host === "") this.err(at, "must set service (and namespace) or host");
    else if (d.service !== "" && d.host !== "") this.err(at, "must set service (and namespace) or host, not both");
    if (d.service !== "" && (d.service.length > LIMITS.nameMaxLength || !RFC1123_LABEL.test(d.service)))
      this.err(`${at}.service`, "must be a Kubernetes service name (RFC 1123 label: a-z, 0-9, '-', at most 63 characters)");
    if (d.namespace !== "") {
      if (d.service === "") this.err(`${at}.namespace`, "needs service (a host is matched as given)");
      else if (d.namespace.length > LIMITS.nameMaxLength || !RFC1123_LABEL.test(d.namespace))
        this.err(`${at}.namespace`, "must be an RFC 1123 label (a-z, 0-9, '-', at most 63 characters)");
    }
    if (d.host !== "" && (d.host.length > LIMITS.hostMaxLength || !DNS_SUBDOMAIN.test(d.host)))
      this.err(`${at}.host`, "must be a DNS name (a-z, 0-9, '-' and '.', at most 253 characters, no port: use port)");
    if (d.port > 65535 && !this.d.hasError(`${at}.port`)) this.err(`${at}.port`, "must be between 1 and 65535 (0 = any)");
  }

  private stringMatch(m: StringMatchOut | HeaderMatchOut | QueryParamMatchOut, at: string, kinds: string[]): void {
    if (this.d.hasError(at)) return; // "only one of ... may be set" already said
    if (m.kind === undefined) {
      this.err(at, `must set exactly one of ${kinds.join(", ")}`);
      return;
    }
    if (m.kind === "regex") {
      const src = m.regex!;
      const p = `${at}.regex`;
      if (src === "") this.err(p, "must not be empty");
      else {
        const reason = hfiRegexError(src);
        if (reason) this.err(p, reason);
      }
    } else if (m.kind === "exact" || m.kind === "prefix") {
      const v = m[m.kind]!;
      if (utf8Length(v) > LIMITS.matchValueMaxBytes)
        this.err(`${at}.${m.kind}`, `must be at most ${LIMITS.matchValueMaxBytes} bytes`);
    }
  }

  private namedMatch(m: HeaderMatchOut | QueryParamMatchOut, at: string, header: boolean): void {
    const p = `${at}.name`;
    if (m.name === "") this.err(p, "is required");
    else if (header) {
      if (!HEADER_NAME.test(m.name)) this.err(p, HEADER_NAME_REASON);
      // Header names are compared case-insensitively: store them lowercase.
      m.name = m.name.toLowerCase();
    } else if (utf8Length(m.name) > 256) this.err(p, "must be at most 256 bytes");
    this.stringMatch(m, at, ["exact", "prefix", "regex", "present"]);
  }

  private fault(f: FaultOut, at: string): void {
    const pct = `${at}.percentage`;
    if (!this.d.hasError(pct)) {
      if (f.percentage < 0 || f.percentage > 100) this.err(pct, "must be between 0 and 100");
      else {
        const scaled = f.percentage * 10 ** LIMITS.percentageDecimals;
        if (Math.abs(scaled - Math.round(scaled)) > 1e-6)
          this.err(pct, `must have at most ${LIMITS.percentageDecimals} decimal places`);
        else f.percentage = Math.round(scaled) / 10 ** LIMITS.percentageDecimals;
      }
    }

    if (f.startDelayMs > LIMITS.maxStartDelayMs)
      this.err(`${at}.start_delay_ms`, `must be at most ${LIMITS.maxStartDelayMs} (2 minutes)`);
    if (f.durationSeconds > LIMITS.maxDurationSeconds)
      this.err(`${at}.duration_seconds`, `must be at most ${LIMITS.maxDurationSeconds} (30 days)`);
    for (const k of FAULT_KINDS) k.validate(f, at, this.check);
    // A kind given but malformed has its own error already.
    const fields = f as unknown as Record<string, unknown>;
    const given = FAULT_KINDS.some((k) =>
      k.fields.some((name) => {
        const v = fields[lowerCamel(name)];
        return (v !== null && v !== undefined && v !== 0) || this.d.hasError(`${at}.${name}`);
      }),
    );
    if (!given) this.err(at, `must set ${faultKindChoices()}`);
  }
}
