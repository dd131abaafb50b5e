// Bounds-checked protobuf decoding of hfi.v1.ConfigSnapshot into a compiled
// Snapshot (regexes compiled, abort replies pre-serialised). Hand-written
// instead of as-proto: as-proto's Reader throws (abort -> trap) on truncated
// input and cannot tell which member of a oneof was set when it is empty.
// Nothing here throws: every failure is an error string naming the field.

import { bytesOf, utf8, encodePairs, ptrOf, toLowerAscii } from "./bytes";
import { DestMatcher } from "./destination";
import { ResponseAction, FAULT_HEADER, FAULT_KIND_HEADER, KIND_ABORT } from "./response";
import { compileRegex, regexError } from "./regex";
import { Rule, Snapshot, StringMatcher, KeyedMatcher, SourceMatcher, KIND_EXACT, KIND_PREFIX, KIND_REGEX, KIND_PRESENT, DELAY_UNIFORM, DELAY_LOGNORMAL, MAX_DELAY_MS, prepareSnapshot } from "./rules";

export const MAX_SNAPSHOT_BYTES: i32 = 4 * 1024 * 1024;
export const MAX_TOTAL_REGEX_STATES: i32 = 200000;


class Reader {
  pos: usize;
  end: usize;
  err: string | null = null;

  constructor(pos: usize, end: usize) {
    this.pos = pos;
    this.end = end;
  }

  @inline more(): bool {
    return this.err == null && this.pos < this.end;
  }

  fail(msg: string): void {
    if (this.err == null) this.err = msg;
  }

  varint(): u64 {
    let result: u64 = 0;
    let shift: u64 = 0;
    while (true) {
      if (this.pos >= this.end) { this.fail("truncated varint"); return 0; }
      const b = <u64>load<u8>(this.pos);
      this.pos++;
      if (shift == 63 && b > 1) { this.fail("varint overflow"); return 0; }
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) { this.fail("varint overflow"); return 0; }
    }
  }

  /** Returns field<<3|wire type, or 0 on error. */
  tag(): u32 {
    const t = this.varint();
    if (this.err != null) return 0;
    if (t > 0xffffffff || (t >> 3) == 0) { this.fail("invalid tag"); return 0; }
    return <u32>t;
  }

  /** Length of a length-delimited field, checked against the remaining bytes; -1 on error. */
  len(): i32 {
    const n = this.varint();
    if (this.err != null) return -1;
    if (n > <u64>(this.end - this.pos)) { this.fail("length out of range"); return -1; }
    return <i32>n;
  }

  bytes(): ArrayBuffer {
    const n = this.len();
    if (n < 0) return new ArrayBuffer(0);
    const out = bytesOf(this.pos, n);
    this.pos += <usize>n;
    return out;
  }

  sub(): Reader {
    const n = this.len();
    if (n < 0) return new Reader(this.pos, this.pos);
    const r = new Reader(this.pos, this.pos + <usize>n);
    this.pos += <usize>n;
    return r;
  }

  fixed64(): u64 {
    if (this.end - this.pos < 8) { this.fail("truncated fixed64"); return 0; }
    const v = load<u64>(this.pos);
    this.pos += 8;
    return v;
  }

  skip(wire: u32): void {
    if (wire == 0) this.varint();
    else if (wire == 1) { if (this.end - this.pos < 8) this.fail("truncated fixed64"); else this.pos += 8; }
    else if (wire == 2) { const n = this.len(); if (n >= 0) this.pos += <usize>n; }
    else if (wire == 5) { if (this.end - this.pos < 4) this.fail("truncated fixed32"); else this.pos += 4; }
    else this.fail("unsupported wire type " + wire.toString());
  }

  /** Checks the wire type of a known field; records an error naming the field number when it differs. */
  expect(tag: u32, wire: u32): bool {
    if ((tag & 7) == wire) return true;
    this.fail("field " + (tag >> 3).toString() + ": wrong wire type " + (tag & 7).toString());
    return false;
  }
}

// Error reporting: the innermost failing decoder sets errPath/errMsg; callers prepend their part.
let errPath: string = "";
let errMsg: string = "";
let regexStates: i32 = 0;
let decodeOutbound = false;
let decodeNamespace = "";
const OUTBOUND_DIR = utf8("outbound");

function failAt(path: string, msg: string): bool {
  errPath = path;
  errMsg = msg;
  return false;
}

function prefix(p: string): void {
  errPath = errPath.length > 0 ? p + "." + errPath : p;
}

function readerFailed(r: Reader, path: string): bool {
  // Reader errors already carry "field: reason" when a wire type was wrong.
  return failAt(path, r.err!);
}

function decodeStringMatch(r: Reader, m: StringMatcher, path: string): bool {
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f >= 1 && f <= 3) {
      if (!r.expect(tag, 2)) break;
      m.value = r.bytes();
      m.kind = f == 1 ? KIND_EXACT : f == 2 ? KIND_PREFIX : KIND_REGEX;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, path);
  return compileIfRegex(m, path);
}

function compileIfRegex(m: StringMatcher, path: string): bool {
  if (m.kind != KIND_REGEX) return true;
  const re = compileRegex(ptrOf(m.value), m.value.byteLength);
  if (re == null) return failAt(path + ".regex", regexError);
  regexStates += re.size;
  if (regexStates > MAX_TOTAL_REGEX_STATES) return failAt(path + ".regex", "snapshot regexes exceed " + MAX_TOTAL_REGEX_STATES.toString() + " NFA states in total");
  m.re = re;
  return true;
}

/** HeaderMatch and QueryParamMatch share a layout: name=1, exact=2, prefix=3, regex=4, present=5. */
function decodeKeyed(r: Reader, k: KeyedMatcher, path: string): bool {
  const m = k.m;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 2)) break;
      k.name = r.bytes();
    } else if (f >= 2 && f <= 4) {
      if (!r.expect(tag, 2)) break;
      m.value = r.bytes();
      m.kind = f == 2 ? KIND_EXACT : f == 3 ? KIND_PREFIX : KIND_REGEX;
    } else if (f == 5) {
      if (!r.expect(tag, 0)) break;
      m.present = r.varint() != 0;
      m.kind = KIND_PRESENT;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, path);
  if (k.name.byteLength == 0) return failAt(path + ".name", "must not be empty");
  // No condition given: the key must be present.
  if (m.kind == 0) { m.kind = KIND_PRESENT; m.present = true; }
  return compileIfRegex(m, path);
}

function decodeMatch(r: Reader, rule: Rule): bool {
  let nh = 0, nq = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1 || f == 2) {
      if (!r.expect(tag, 2)) break;
      const m = new StringMatcher();
      if (!decodeStringMatch(r.sub(), m, f == 1 ? "method" : "path")) return false;
      if (m.kind == 0) continue; // empty StringMatch: no condition
      if (f == 1) rule.method = m; else rule.path = m;
    } else if (f == 3 || f == 4) {
      if (!r.expect(tag, 2)) break;
      const k = new KeyedMatcher();
      const path = f == 3 ? "headers[" + nh.toString() + "]" : "query_params[" + nq.toString() + "]";
      if (!decodeKeyed(r.sub(), k, path)) return false;
      if (f == 3) { rule.headers.push(k); nh++; } else { rule.query.push(k); nq++; }
    } else if (f == 20) {
      if (!r.expect(tag, 2)) break;
      if (!decodeDestination(r.sub(), rule)) { prefix("destination"); return false; }
    } else if (f == 11) {
      // SourceMatch { string service = 1; string namespace = 2; string principal = 3; }
      if (!r.expect(tag, 2)) break;
      const sr = r.sub();
      const src = new SourceMatcher();
      while (sr.more()) {
        const t = sr.tag();
        const g = t >> 3;
        if (g >= 1 && g <= 3 && (t & 7) == 2) {
          const v = sr.bytes();
          if (g == 1) src.service = v; else if (g == 2) src.namespace = v; else src.principal = v;
        } else if (t != 0) sr.skip(t & 7);
      }
      if (sr.err != null) return failAt("source", sr.err!);
      if (src.service.byteLength + src.namespace.byteLength + src.principal.byteLength > 0) rule.source = src;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  return true;
}

function decodeAbort(r: Reader, rule: Rule): bool {
  let nh = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 0)) break;
      rule.httpStatus = <u32>r.varint();
    } else if (f == 2) {
      if (!r.expect(tag, 2)) break;
      rule.body = r.bytes();
    } else if (f == 3) {
      if (!r.expect(tag, 2)) break;
      const h = r.sub();
      let name = new ArrayBuffer(0), value = new ArrayBuffer(0);
      while (h.more()) {
        const t = h.tag();
        if ((t >> 3) == 1 && (t & 7) == 2) name = h.bytes();
        else if ((t >> 3) == 2 && (t & 7) == 2) value = h.bytes();
        else if (t != 0) h.skip(t & 7);
      }
      if (h.err != null) return failAt("headers[" + nh.toString() + "]", h.err!);
      if (name.byteLength == 0) return failAt("headers[" + nh.toString() + "].name", "must not be empty");
      rule.abortHeaderNames.push(name);
      rule.abortHeaderValues.push(value);
      nh++;
    } else if (f == 4) {
      if (!r.expect(tag, 0)) break;
      rule.grpcStatus = <u32>r.varint();
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  if (rule.httpStatus < 200 || rule.httpStatus > 599) return failAt("http_status", "must be between 200 and 599");
  if (rule.grpcStatus > 16) return failAt("grpc_status", "must be between 0 and 16");
  return true;
}

/** Two uint32 fields 1 and 2 of a small message (UniformDelay, LognormalDelay). */
let pairA: u32 = 0;
let pairB: u32 = 0;
function decodePair(r: Reader): bool {
  pairA = 0;
  pairB = 0;
  while (r.more()) {
    const t = r.tag();
    if ((t >> 3) == 1 && (t & 7) == 0) pairA = <u32>r.varint();
    else if ((t >> 3) == 2 && (t & 7) == 0) pairB = <u32>r.varint();
    else if (t != 0) r.skip(t & 7);
  }
  return r.err == null;
}

// z of the standard normal's 99th percentile: sigma = ln(p99 / p50) / Z99.
const Z99: f64 = 2.3263478740408408;

/** DelayFault: fixed_delay_ms (1), uniform (2), lognormal (3); the server lets only one be set. */
function decodeDelay(d: Reader, rule: Rule): bool {
  while (d.more()) {
    const t = d.tag();
    const f = t >> 3;
    if (f == 1 && (t & 7) == 0) rule.delayMs = <u32>d.varint();
    else if ((f == 2 || f == 3) && d.expect(t, 2)) {
      if (!decodePair(d.sub())) return failAt(f == 2 ? "uniform" : "lognormal", "malformed");
      if (f == 2) {
        if (pairB == 0 || pairB < pairA) return failAt("uniform", "max_ms must be at least min_ms and above 0");
        rule.delayDist = DELAY_UNIFORM;
        rule.delayA = <f64>pairA;
        rule.delayB = <f64>(pairB - pairA) + 1;
      } else {
        if (pairA == 0 || pairB <= pairA) return failAt("lognormal", "p99_ms must be greater than p50_ms (> 0)");
        rule.delayDist = DELAY_LOGNORMAL;
        rule.delayA = Math.log(<f64>pairA);
        rule.delayB = (Math.log(<f64>pairB) - rule.delayA) / Z99;
      }
    } else if (t != 0) d.skip(t & 7);
  }
  if (d.err != null) return failAt("", d.err!);
  return true;
}

function decodeFault(r: Reader, rule: Rule): bool {
  let pct: f64 = 0;
  let delayMs: u32 = 0;
  let hasDelay = false;
  let shorthand: u32 = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 1)) break;
      pct = reinterpret<f64>(r.fixed64());
    } else if (f == 2) {
      if (!r.expect(tag, 2)) break;
      hasDelay = true;
      delayMs = 0;
      if (!decodeDelay(r.sub(), rule)) { prefix("delay"); return false; }
      delayMs = rule.delayMs;
    } else if (f == 3) {
      if (!r.expect(tag, 2)) break;
      rule.hasAbort = true;
      if (!decodeAbort(r.sub(), rule)) { prefix("abort"); return false; }
    } else if (f == 4) {
      if (!r.expect(tag, 0)) break;
      rule.startDelayMs = <u32>r.varint();
    } else if (f == 5) {
      if (!r.expect(tag, 0)) break;
      rule.durationSeconds = <u32>r.varint();
    } else if (f == 6) {
      if (!r.expect(tag, 0)) break;
      shorthand = <u32>r.varint();
    } else if (f == 20) {
      if (!r.expect(tag, 2)) break;
      const a = new ResponseAction();
      if (!decodeResponse(r.sub(), a)) { prefix("response"); return false; }
      rule.response = a;
    } else if (f == 21) {
      // ResponseRateLimit { uint32 kbps = 1; }
      if (!r.expect(tag, 2)) break;
      const q = r.sub();
      while (q.more()) {
        const t = q.tag();
        if (t == ((1 << 3) | 0)) rule.rateKbps = <u32>q.varint();
        else if (t != 0) q.skip(t & 7);
      }
      if (q.err != null) return failAt("response_rate_limit", q.err!);
      if (rule.rateKbps == 0) return failAt("response_rate_limit.kbps", "must be greater than 0");
    } else if (f == 10) {
      // HeaderControl { uint32 max_delay_ms = 1; bool allow_abort = 2; }
      if (!r.expect(tag, 2)) break;
      if (!decodePair(r.sub())) return failAt("header_control", "malformed");
      rule.hasHeaderControl = true;
      rule.hcMaxDelayMs = pairA < MAX_DELAY_MS ? pairA : MAX_DELAY_MS; // a larger header-control maximum is cut to the limit
      rule.hcAllowAbort = pairB != 0;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  if (!(pct >= 0 && pct <= 100)) return failAt("percentage", "must be between 0 and 100");
  let ppm = Math.round(pct * 10000);
  if (ppm > 1000000) ppm = 1000000;
  rule.ppm = <u32>ppm;
  rule.delayMs = hasDelay && delayMs > 0 ? delayMs : shorthand;
  if (rule.delayDist != 0) rule.delayMs = 0;
  return true;
}

function decodeRule(r: Reader, rule: Rule): bool {
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 2)) break;
      if (!decodeMatch(r.sub(), rule)) { prefix("match"); return false; }
    } else if (f == 2) {
      if (!r.expect(tag, 2)) break;
      if (!decodeFault(r.sub(), rule)) { prefix("fault"); return false; }
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  return true;
}

function decodePolicy(r: Reader, out: Rule[], index: i32, paused: ArrayBuffer[]): bool {
  let name = new ArrayBuffer(0);
  let appliedAt: i64 = 0;
  let isPaused = false;
  let outbound = false;
  const rules: Rule[] = [];
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 2)) break;
      name = r.bytes();
    } else if (f == 2) {
      if (!r.expect(tag, 2)) break;
      const rule = new Rule();
      if (!decodeRule(r.sub(), rule)) { prefix("rules[" + rules.length.toString() + "]"); return false; }
      rules.push(rule);
    } else if (f == 3) {
      if (!r.expect(tag, 0)) break;
      appliedAt = <i64>r.varint();
    } else if (f == 30) {
      if (!r.expect(tag, 0)) break;
      isPaused = r.varint() != 0;
    } else if (f == 10) {
      if (!r.expect(tag, 2)) break;
      const d = r.bytes();
      outbound = d.byteLength == OUTBOUND_DIR.byteLength && memory.compare(ptrOf(d), ptrOf(OUTBOUND_DIR), <usize>d.byteLength) == 0;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  // Each filter instance applies the policies of the direction it runs in.
  if (outbound != decodeOutbound) return true;
  // Paused: validated like any policy (a bad one is still NACKed), but none of its rules is matched.
  if (isPaused) {
    paused.push(name);
    return true;
  }
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    rule.policyName = name;
    rule.index = <u32>i;
    if (rule.durationSeconds > 0) rule.expiresAtMs = appliedAt + <i64>rule.durationSeconds * 1000;
    if (rule.hasAbort) {
      const names = rule.abortHeaderNames.slice(0);
      const values = rule.abortHeaderValues.slice(0);
      names.push(FAULT_HEADER);
      values.push(name);
      names.push(FAULT_KIND_HEADER);
      values.push(KIND_ABORT);
      rule.abortHeaders = encodePairs(names, values);
    }
    if (rule.hasHeaderControl) rule.hcReplyHeaders = encodePairs([FAULT_HEADER, FAULT_KIND_HEADER], [name, KIND_ABORT]);
    out.push(rule);
  }
  return true;
}

/** Result of decoding: snapshot on success, else error (version/nonce filled when they could be read). */
export class DecodeResult {
  snapshot: Snapshot | null = null;
  version: ArrayBuffer = new ArrayBuffer(0);
  nonce: ArrayBuffer = new ArrayBuffer(0);
  error: string = "";
}

/**
 * Decodes a ConfigSnapshot at [ptr, ptr+len), keeping the policies of one
 * direction (outbound or inbound); `namespace` is the workload's own, the
 * default of a destination's namespace.
 */
export function decodeSnapshot(ptr: usize, len: i32, outbound: bool = false, namespace: string = ""): DecodeResult {
  const res = new DecodeResult();
  decodeOutbound = outbound;
  decodeNamespace = namespace;
  errPath = "";
  errMsg = "";
  regexStates = 0;
  if (len < 0 || len > MAX_SNAPSHOT_BYTES) {
    res.error = "snapshot larger than " + MAX_SNAPSHOT_BYTES.toString() + " bytes";
    return res;
  }
  const snap = new Snapshot();
  // Pass 1: top-level scalars, so a NACK can name version/nonce even when a policy is bad.
  const r1 = new Reader(ptr, ptr + <usize>len);
  while (r1.more()) {
    const tag = r1.tag();
    const f = tag >> 3;
    if (f == 1 && (tag & 7) == 2) snap.version = r1.bytes();
    else if (f == 2 && (tag & 7) == 2) snap.nonce = r1.bytes();
    else if (f == 4 && (tag & 7) == 0) snap.serverTimeMs = <i64>r1.varint();
    else if (tag != 0) r1.skip(tag & 7);
  }
  res.version = snap.version;
  res.nonce = snap.nonce;
  if (r1.err != null) {
    res.error = r1.err!;
    return res;
  }
  // Pass 2: policies (wire types of known fields checked here).
  const r = new Reader(ptr, ptr + <usize>len);
  let np = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1 || f == 2) { if (!r.expect(tag, 2)) break; r.skip(2); }
    else if (f == 4) { if (!r.expect(tag, 0)) break; r.skip(0); }
    else if (f == 3) {
      if (!r.expect(tag, 2)) break;
      if (!decodePolicy(r.sub(), snap.rules, np, snap.paused)) {
        prefix("policies[" + np.toString() + "]");
        res.error = errPath + ": " + errMsg;
        return res;
      }
      np++;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) {
    res.error = r.err!;
    return res;
  }
  snap.policyCount = np; // every policy of the snapshot (both directions)
  prepareSnapshot(snap);
  res.snapshot = snap;
  return res;
}

/**
 * Decodes a serialized google.protobuf.Struct whose values are strings (older
 * Envoy returns map properties such as node.metadata.LABELS this way; newer
 * ones use proxy-wasm pairs). Non-string values are skipped. False when the
 * bytes are not a Struct.
 */
export function decodeStringStruct(ptr: usize, len: i32, keys: string[], values: string[]): bool {
  const r = new Reader(ptr, ptr + <usize>len);
  while (r.more()) {
    const tag = r.tag();
    if (tag != ((1 << 3) | 2)) { if (tag != 0) r.skip(tag & 7); continue; }
    const entry = r.sub();
    let key = "", value = "", isString = false;
    while (entry.more()) {
      const t = entry.tag();
      if (t == ((1 << 3) | 2)) key = String.UTF8.decode(entry.bytes());
      else if (t == ((2 << 3) | 2)) {
        const v = entry.sub();
        while (v.more()) {
          const vt = v.tag();
          if (vt == ((3 << 3) | 2)) { value = String.UTF8.decode(v.bytes()); isString = true; }
          else if (vt != 0) v.skip(vt & 7);
        }
        if (v.err != null) return false;
      } else if (t != 0) entry.skip(t & 7);
    }
    if (entry.err != null) return false;
    if (isString && keys.length < 64) { keys.push(key); values.push(value); }
  }
  return r.err == null;
}

// ---------------------------------------------------------------------------
// Outbound destinations and response faults (hfi.v1.Destination, ResponseFault)

function decodeDestination(r: Reader, rule: Rule): bool {
  let service = new ArrayBuffer(0), namespace = new ArrayBuffer(0), host = new ArrayBuffer(0);
  let port: u32 = 0;
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f >= 1 && f <= 3) {
      if (!r.expect(tag, 2)) break;
      const v = r.bytes();
      if (f == 1) service = v; else if (f == 2) namespace = v; else host = v;
    } else if (f == 4) {
      if (!r.expect(tag, 0)) break;
      port = <u32>r.varint();
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  if (service.byteLength == 0 && host.byteLength == 0) return failAt("", "needs service or host");
  if (port > 65535) return failAt("port", "must be between 1 and 65535");
  rule.dest = DestMatcher.of(service, namespace, host, port, decodeNamespace);
  return true;
}

/** A map<string, string> entry (key = 1, value = 2). */
function decodeEntry(r: Reader, names: ArrayBuffer[], values: ArrayBuffer[], path: string): bool {
  let k = new ArrayBuffer(0), v = new ArrayBuffer(0);
  while (r.more()) {
    const t = r.tag();
    if ((t >> 3) == 1 && (t & 7) == 2) k = r.bytes();
    else if ((t >> 3) == 2 && (t & 7) == 2) v = r.bytes();
    else if (t != 0) r.skip(t & 7);
  }
  if (r.err != null) return failAt(path, r.err!);
  if (k.byteLength == 0) return failAt(path, "header name must not be empty");
  names.push(toLowerAscii(k));
  values.push(v);
  return true;
}

function decodeMutation(r: Reader, a: ResponseAction): bool {
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1 || f == 2) {
      if (!r.expect(tag, 2)) break;
      const ok = f == 1 ? decodeEntry(r.sub(), a.setNames, a.setValues, "set") : decodeEntry(r.sub(), a.addNames, a.addValues, "add");
      if (!ok) return false;
    } else if (f == 3) {
      if (!r.expect(tag, 2)) break;
      const n = r.bytes();
      if (n.byteLength == 0) return failAt("remove[" + a.removeNames.length.toString() + "]", "must not be empty");
      a.removeNames.push(toLowerAscii(n));
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  return true;
}

function decodeStatusMatch(r: Reader, a: ResponseAction): bool {
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1 && (tag & 7) == 2) { // packed (proto3 default)
      const p = r.sub();
      while (p.more()) a.codes.push(<u32>p.varint());
      if (p.err != null) return failAt("codes", p.err!);
    } else if (f == 1) {
      if (!r.expect(tag, 0)) break;
      a.codes.push(<u32>r.varint());
    } else if (f == 2 || f == 3) {
      if (!r.expect(tag, 0)) break;
      const v = <u32>r.varint();
      if (f == 2) a.min = v; else a.max = v;
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  if (a.max != 0 && a.min > a.max) return failAt("min", "must not exceed max");
  a.hasStatusMatch = true;
  return true;
}

function decodeResponse(r: Reader, a: ResponseAction): bool {
  while (r.more()) {
    const tag = r.tag();
    const f = tag >> 3;
    if (f == 1) {
      if (!r.expect(tag, 0)) break;
      a.status = <u32>r.varint();
    } else if (f == 2) {
      if (!r.expect(tag, 2)) break;
      if (!decodeMutation(r.sub(), a)) { prefix("headers"); return false; }
    } else if (f == 3) {
      if (!r.expect(tag, 2)) break;
      a.hasBody = true;
      a.body = r.bytes();
    } else if (f == 4) {
      if (!r.expect(tag, 2)) break;
      if (!decodeStatusMatch(r.sub(), a)) { prefix("upstream_status"); return false; }
    } else if (tag != 0) r.skip(tag & 7);
  }
  if (r.err != null) return readerFailed(r, "");
  if (a.status != 0 && (a.status < 200 || a.status > 599)) return failAt("status", "must be between 200 and 599");
  a.finish();
  return true;
}
