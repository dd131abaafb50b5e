// Every kind of fault a rule can inject, in one table: how validation
// normalises and checks it, how status and the CLI name and summarise it.
// A new kind is a field of `Fault` in policy.proto plus one entry here (and
// the filter's rule and injection code); see docs/development.md.
import type { AbortFaultOut, FaultOut, ResponseFaultOut, StatusMatchOut } from "../proto/types.ts";
import { LIMITS } from "./limits.ts";

/** What a kind's validation reports to. Paths are snake_case, as in the docs. */
export interface FaultCheck {
  err(path: string, reason: string): void;
  hasError(path: string): boolean;
}

export interface FaultKind {
  /** The name in status (`fault_types`), tables and describe. */
  readonly name: string;
  /** Fault fields (snake_case) that set this kind: the first is the kind's own, others are shorthands. */
  readonly fields: readonly string[];
  /** How "must set ..." names it. */
  readonly label: string;
  /** Chosen by the request itself (headers), not by rolling `percentage`. */
  readonly perRequest?: boolean;
  /** The rule injects this kind (a validated, normalised fault). */
  present(f: FaultOut): boolean;
  /** A short phrase for tables and describe: "delay 500ms". */
  summary(f: FaultOut): string;
  /** Extra describe lines (without indentation). */
  details(f: FaultOut): string[];
  /** Normalises shorthands into the kind's own field and checks it; `at` is the fault's path. */
  validate(f: FaultOut, at: string, c: FaultCheck): void;
}

/** RFC 9110 token characters (header field names). */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export const HEADER_NAME_REASON = "must be a valid HTTP header name (RFC 9110 token, no ':' pseudo-headers)";
const FORBIDDEN_ABORT_HEADERS = new Set(["content-length", "transfer-encoding"]);
const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

/** "delay 500ms", "delay 100-200ms", "delay lognormal p50 50ms p99 400ms". */
function delaySummary(f: FaultOut): string {
  const d = f.delay;
  if (d?.uniform) return `delay ${d.uniform.minMs}-${d.uniform.maxMs}ms`;
  if (d?.lognormal) return `delay lognormal p50 ${d.lognormal.p50Ms}ms p99 ${d.lognormal.p99Ms}ms`;
  return `delay ${d?.fixedDelayMs || f.delayMs}ms`;
}

const DELAY_FORMS = ["fixed_delay_ms", "uniform", "lognormal"] as const;

function validateDelay(f: FaultOut, at: string, c: FaultCheck): void {
  // delay_ms is shorthand for delay.fixed_delay_ms; normalise it away (errors name the field written).
  let path = `${at}.delay.fixed_delay_ms`;
  if (f.delayMs !== 0) {
    const other = f.delay?.uniform ? "uniform" : f.delay?.lognormal ? "lognormal" : undefined;
    if (other) c.err(`${at}.delay_ms`, `conflicts with delay.${other} (set only one)`);
    else if (f.delay && f.delay.fixedDelayMs !== 0 && f.delay.fixedDelayMs !== f.delayMs)
      c.err(`${at}.delay_ms`, "conflicts with delay.fixed_delay_ms (set only one)");
    else {
      f.delay = { fixedDelayMs: f.delayMs, uniform: null, lognormal: null };
      path = `${at}.delay_ms`;
    }
    f.delayMs = 0;
  }
  const d = f.delay;
  if (!d) return;
  const set = DELAY_FORMS.filter((k) => (k === "fixed_delay_ms" ? d.fixedDelayMs !== 0 : !!d[k]));
  if (set.length > 1) {
    c.err(`${at}.delay`, `only one of ${DELAY_FORMS.join(", ")} may be set (got ${set.join(", ")})`);
    return;
  }
  const max = `must be at most ${LIMITS.maxDelayMs} (2 minutes)`;
  if (d.uniform) {
    const u = d.uniform;
    const p = `${at}.delay.uniform`;
    if (!c.hasError(`${p}.max_ms`)) {
      if (u.maxMs === 0) c.err(`${p}.max_ms`, "must be greater than 0");
      else if (u.maxMs > LIMITS.maxDelayMs) c.err(`${p}.max_ms`, max);
      else if (!c.hasError(`${p}.min_ms`) && u.minMs > u.maxMs) c.err(`${p}.max_ms`, `must be at least min_ms (${u.minMs})`);
    }
  } else if (d.lognormal) {
    const l = d.lognormal;
    const p = `${at}.delay.lognormal`;
    if (!c.hasError(`${p}.p50_ms`) && l.p50Ms === 0) c.err(`${p}.p50_ms`, "must be greater than 0");
    if (!c.hasError(`${p}.p99_ms`)) {
      if (l.p99Ms > LIMITS.maxDelayMs) c.err(`${p}.p99_ms`, max);
      else if (!c.hasError(`${p}.p50_ms`) && l.p50Ms > 0 && l.p99Ms <= l.p50Ms)
        c.err(`${p}.p99_ms`, `must be greater than p50_ms (${l.p50Ms})`);
    }
  } else if (!c.hasError(path) && !c.hasError(`${at}.delay.uniform`) && !c.hasError(`${at}.delay.lognormal`)) {
    if (d.fixedDelayMs === 0) c.err(path, "must be greater than 0");
    else if (d.fixedDelayMs > LIMITS.maxDelayMs) c.err(path, max);
  }
}

const delay: FaultKind = {
  name: "delay",
  fields: ["delay", "delay_ms"],
  label: "delay (or delay_ms)",
  present: (f) => (f.delay?.fixedDelayMs ?? 0) > 0 || !!f.delay?.uniform || !!f.delay?.lognormal || f.delayMs > 0,
  summary: delaySummary,
  details: () => [],
  validate: validateDelay,
};

/** Why a header value cannot go on the wire (abort and response headers alike), or undefined. */
function headerValueError(v: string): string | undefined {
  if (/[\r\n\0]/.test(v)) return "must not contain CR, LF or NUL";
  if (utf8Length(v) > LIMITS.headerValueMaxBytes) return `must be at most ${LIMITS.headerValueMaxBytes} bytes`;
  return undefined;
}

function abortSummary(a: AbortFaultOut): string {
  return a.grpcStatus ? `abort ${a.httpStatus} (grpc ${a.grpcStatus})` : `abort ${a.httpStatus}`;
}

const abort: FaultKind = {
  name: "abort",
  fields: ["abort"],
  label: "abort",
  present: (f) => !!f.abort,
  summary: (f) => abortSummary(f.abort!),
  details: (f) => [
    ...(f.abort?.body ? [`abort body: ${JSON.stringify(f.abort.body)}`] : []),
    ...(f.abort?.headers ?? []).map((h) => `abort header: ${h.name}: ${h.value}`),
  ],
  validate(f, at, c) {
    const a = f.abort;
    if (!a) return;
    at = `${at}.abort`;
    const hs = `${at}.http_status`;
    // grpc_status alone: HTTP 200 carrying the grpc-status, as Envoy's fault filter answers.
    if (a.httpStatus === 0 && a.grpcStatus > 0 && !c.hasError(hs) && !c.hasError(`${at}.grpc_status`)) a.httpStatus = 200;
    if (!c.hasError(hs) && (a.httpStatus < LIMITS.httpStatusMin || a.httpStatus > LIMITS.httpStatusMax))
      c.err(hs, `must be between ${LIMITS.httpStatusMin} and ${LIMITS.httpStatusMax}`);
    const gs = `${at}.grpc_status`;
    if (!c.hasError(gs) && a.grpcStatus > LIMITS.grpcStatusMax) c.err(gs, `must be between 0 and ${LIMITS.grpcStatusMax}`);
    const bodyBytes = utf8Length(a.body);
    if (bodyBytes > LIMITS.maxAbortBodyBytes)
      c.err(`${at}.body`, `must be at most ${LIMITS.maxAbortBodyBytes} bytes (got ${bodyBytes})`);
    if (a.headers.length > LIMITS.maxAbortHeaders)
      c.err(`${at}.headers`, `must have at most ${LIMITS.maxAbortHeaders} entries (got ${a.headers.length})`);
    a.headers.forEach((h, i) => {
      const p = `${at}.headers[${i}]`;
      if (h.name === "") c.err(`${p}.name`, "is required");
      else if (!HEADER_NAME.test(h.name)) c.err(`${p}.name`, HEADER_NAME_REASON);
      else if (FORBIDDEN_ABORT_HEADERS.has(h.name.toLowerCase())) c.err(`${p}.name`, "is set by the proxy and cannot be overridden");
      h.name = h.name.toLowerCase();
      const reason = headerValueError(h.value);
      if (reason) c.err(`${p}.value`, reason);
    });
  },
};

/** Headers a response fault may not set or add: the proxy owns them (the filter keeps content-length right). */
const FORBIDDEN_RESPONSE_HEADERS = new Set(["content-length", "transfer-encoding", "connection"]);

function statusMatchText(m: StatusMatchOut): string {
  const parts = [...m.codes.map(String)];
  if (m.max) parts.push(`${m.min}-${m.max}`);
  return parts.join(",");
}

function responseSummary(r: ResponseFaultOut): string {
  const parts: string[] = [];
  if (r.status) parts.push(`status ${r.status}`);
  const h = r.headers;
  if (h && (Object.keys(h.set).length || Object.keys(h.add).length || h.remove.length)) parts.push("headers");
  if (r.body !== undefined) parts.push("body");
  const on = r.upstreamStatus ? ` on ${statusMatchText(r.upstreamStatus)}` : "";
  return `response ${parts.join("+")}${on}`;
}

/** Header names of a mutation map checked and lower-cased (values kept). */
function headerMap(m: Record<string, string>, at: string, c: FaultCheck): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(m)) {
    const p = `${at}[${JSON.stringify(name)}]`;
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) c.err(p, HEADER_NAME_REASON);
    else if (FORBIDDEN_RESPONSE_HEADERS.has(lower)) c.err(p, "is set by the proxy and cannot be overridden");
    else if (lower in out) c.err(p, `is given twice (header names are case-insensitive)`);
    else {
      const reason = headerValueError(value);
      if (reason) c.err(p, reason);
    }
    Object.defineProperty(out, lower, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const response: FaultKind = {
  name: "response",
  fields: ["response"],
  label: "response",
  present: (f) => !!f.response,
  summary: (f) => responseSummary(f.response!),
  details: (f) => {
    const r = f.response!;
    const lines: string[] = [];
    if (r.status) lines.push(`response status: ${r.status}`);
    for (const [k, v] of Object.entries(r.headers?.set ?? {})) lines.push(`response header set: ${k}: ${v}`);
    for (const [k, v] of Object.entries(r.headers?.add ?? {})) lines.push(`response header add: ${k}: ${v}`);
    for (const k of r.headers?.remove ?? []) lines.push(`response header remove: ${k}`);
    if (r.body !== undefined) lines.push(`response body: ${JSON.stringify(r.body)}`);
    if (r.upstreamStatus) lines.push(`only when the upstream answers: ${statusMatchText(r.upstreamStatus)}`);
    return lines;
  },
  validate(f, at, c) {
    const r = f.response;
    if (!r) return;
    at = `${at}.response`;
    if (f.abort) c.err(at, "cannot be combined with abort (an aborted request never reaches the upstream)");
    const st = `${at}.status`;
    if (r.status !== 0 && !c.hasError(st) && (r.status < LIMITS.httpStatusMin || r.status > LIMITS.httpStatusMax))
      c.err(st, `must be between ${LIMITS.httpStatusMin} and ${LIMITS.httpStatusMax} (0 keeps the upstream's)`);
    const h = r.headers;
    if (h) {
      const n = Object.keys(h.set).length + Object.keys(h.add).length + h.remove.length;
      if (n > LIMITS.maxResponseHeaderMutations)
        c.err(`${at}.headers`, `must have at most ${LIMITS.maxResponseHeaderMutations} entries in set, add and remove together (got ${n})`);
      h.set = headerMap(h.set, `${at}.headers.set`, c);
      h.add = headerMap(h.add, `${at}.headers.add`, c);
      h.remove = h.remove.map((name, i) => {
        const p = `${at}.headers.remove[${i}]`;
        if (name === "") c.err(p, "must not be empty");
        else if (!HEADER_NAME.test(name)) c.err(p, HEADER_NAME_REASON);
        else if (FORBIDDEN_RESPONSE_HEADERS.has(name.toLowerCase())) c.err(p, "is set by the proxy and cannot be removed");
        return name.toLowerCase();
      });
    }
    if (r.body !== undefined) {
      const bytes = utf8Length(r.body);
      if (bytes > LIMITS.maxResponseBodyBytes) c.err(`${at}.body`, `must be at most ${LIMITS.maxResponseBodyBytes} bytes (got ${bytes})`);
    }
    const hasHeaders = !!h && (Object.keys(h.set).length > 0 || Object.keys(h.add).length > 0 || h.remove.length > 0);
    if (r.status === 0 && !hasHeaders && r.body === undefined && !c.hasError(st))
      c.err(at, "must set status, headers or body (what to change in the response)");
    const us = r.upstreamStatus;
    if (us) {
      const p = `${at}.upstream_status`;
      const inRange = (v: number) => v >= LIMITS.upstreamStatusMin && v <= LIMITS.upstreamStatusMax;
      const range = `between ${LIMITS.upstreamStatusMin} and ${LIMITS.upstreamStatusMax}`;
      if (us.codes.length > LIMITS.maxUpstreamStatusCodes)
        c.err(`${p}.codes`, `must have at most ${LIMITS.maxUpstreamStatusCodes} entries (got ${us.codes.length})`);
      us.codes.forEach((v, i) => {
        if (!inRange(v)) c.err(`${p}.codes[${i}]`, `must be ${range}`);
      });
      if (us.min !== 0 || us.max !== 0) {
        if (!inRange(us.min)) c.err(`${p}.min`, `must be ${range} (with max)`);
        else if (!inRange(us.max)) c.err(`${p}.max`, `must be ${range} (with min)`);
        else if (us.min > us.max) c.err(`${p}.min`, "must not exceed max");
      }
      if (us.codes.length === 0 && us.min === 0 && us.max === 0) c.err(p, "must set codes or min and max");
    }
  },
};

/** Request headers a header_control rule reads (lowercase). */
export const CONTROL_HEADERS = { delay: "x-hfi-delay-ms", abort: "x-hfi-abort-status", percentage: "x-hfi-percentage" } as const;

const headerControl: FaultKind = {
  name: "header_control",
  fields: ["header_control"],
  label: "header_control",
  perRequest: true,
  present: (f) => !!f.headerControl,
  summary(f) {
    const h = f.headerControl!;
    const allowed = [...(h.maxDelayMs ? [`delay <= ${h.maxDelayMs}ms`] : []), ...(h.allowAbort ? ["abort"] : [])];
    return `header-controlled (${allowed.join(", ")})`;
  },
  details: (f) => [
    `header control: ${[
      ...(f.headerControl?.maxDelayMs ? [`${CONTROL_HEADERS.delay} up to ${f.headerControl.maxDelayMs}`] : []),
      ...(f.headerControl?.allowAbort ? [CONTROL_HEADERS.abort] : []),
      CONTROL_HEADERS.percentage,
    ].join(", ")}`,
  ],
  validate(f, at, c) {
    const h = f.headerControl;
    if (!h) return;
    at = `${at}.header_control`;
    const md = `${at}.max_delay_ms`;
    if (!c.hasError(md) && h.maxDelayMs > LIMITS.maxDelayMs) c.err(md, `must be at most ${LIMITS.maxDelayMs} (2 minutes)`);
    if (h.maxDelayMs === 0 && !h.allowAbort && !c.hasError(md) && !c.hasError(`${at}.allow_abort`))
      c.err(at, "must allow a delay (max_delay_ms > 0) or an abort (allow_abort: true)");
  },
};

/** In the order summaries list them. */
const responseRateLimit: FaultKind = {
  name: "response_rate_limit",
  fields: ["response_rate_limit"],
  label: "response_rate_limit",
  present: (f) => !!f.responseRateLimit,
  summary: (f) => `response ${f.responseRateLimit!.kbps}KiB/s`,
  details: (f) => [`response body rate limit: ${f.responseRateLimit!.kbps} KiB/s`],
  validate(f, at, c) {
    const rl = f.responseRateLimit;
    if (!rl) return;
    at = `${at}.response_rate_limit`;
    if (f.abort) c.err(at, "cannot be combined with abort (an aborted request never reaches the upstream)");
    const k = `${at}.kbps`;
    if (!c.hasError(k) && (rl.kbps < 1 || rl.kbps > LIMITS.maxRateLimitKbps))
      c.err(k, `must be between 1 and ${LIMITS.maxRateLimitKbps} (KiB/s)`);
  },
};

export const FAULT_KINDS: readonly FaultKind[] = [delay, abort, headerControl, response, responseRateLimit];

/** The kinds a fault injects, in table order: ["delay", "abort"]. */
export function faultKindsOf(f: FaultOut | null | undefined): string[] {
  return f ? FAULT_KINDS.filter((k) => k.present(f)).map((k) => k.name) : [];
}

/** "delay (or delay_ms) or abort": what a fault must set at least one of. */
export function faultKindChoices(): string {
  const labels = FAULT_KINDS.map((k) => k.label);
  return labels.length > 1 ? `${labels.slice(0, -1).join(", ")} or ${labels.at(-1)}` : labels[0]!;
}

export function fmtPct(p: number): string {
  return `${Number(p.toFixed(4))}%`;
}

/**
 * "50% delay 500ms", "10% abort 503", "100% delay 100ms+abort 503 after 200ms for 300s",
 * "header-controlled (delay <= 2000ms, abort)" (no percentage: the request chooses).
 */
export function faultText(f: FaultOut | null | undefined): string {
  if (!f) return "none";
  const kinds = FAULT_KINDS.filter((k) => k.present(f));
  const rolled = kinds.filter((k) => !k.perRequest).map((k) => k.summary(f));
  const chosen = kinds.filter((k) => k.perRequest).map((k) => k.summary(f));
  const parts = rolled.length || !chosen.length ? [`${fmtPct(f.percentage)} ${rolled.join("+") || "none"}`] : [];
  let text = [...parts, ...chosen].join(", ");
  if (f.startDelayMs) text += ` after ${f.startDelayMs}ms`;
  if (f.durationSeconds) text += ` for ${f.durationSeconds}s`;
  return text;
}

/** Describe lines of every kind a fault injects. */
export function faultDetails(f: FaultOut | null | undefined): string[] {
  return f ? FAULT_KINDS.filter((k) => k.present(f)).flatMap((k) => k.details(f)) : [];
}
