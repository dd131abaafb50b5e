// Test-only entry (built to filter/build/hfi-filter-test.wasm): exposes the
// pure parts of the filter (snapshot decoder, regex engine, config JSON
// reader, request matching) with no host imports, so tests can drive them
// directly. Never shipped; the production entry is index.ts.

import { decodeSnapshot, decodeStringStruct } from "./snapshot";
import { compileRegex, regexError, Regex } from "./regex";
import { parseStringMembers, jsonError } from "./json";
import { Rule, Snapshot, RequestView, StringMatcher, KeyedMatcher, Peer, setPeerLoader, KIND_EXACT, KIND_PREFIX, KIND_REGEX, KIND_PRESENT } from "./rules";
import { ptrOf } from "./bytes";

export function testAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}

// Output buffer of the last call (kept referenced so the GC leaves it alone).
let out: ArrayBuffer = new ArrayBuffer(0);

export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

export function outPtr(): usize {
  return changetype<usize>(out);
}

export function outLen(): i32 {
  return out.byteLength;
}

function setOut(s: string): void {
  out = String.UTF8.encode(s);
}

function q(s: string): string {
  let r = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) r += "\\\"";
    else if (c == 92) r += "\\\\";
    else if (c < 32) r += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else r += String.fromCharCode(c);
  }
  return r + "\"";
}

function qb(b: ArrayBuffer): string {
  return q(String.UTF8.decode(b));
}

function kindName(k: u8): string {
  if (k == KIND_EXACT) return "exact";
  if (k == KIND_PREFIX) return "prefix";
  if (k == KIND_REGEX) return "regex";
  if (k == KIND_PRESENT) return "present";
  return "none";
}

function matcherJson(m: StringMatcher): string {
  if (m.kind == KIND_PRESENT) return "{\"kind\":\"present\",\"present\":" + (m.present ? "true" : "false") + "}";
  return "{\"kind\":" + q(kindName(m.kind)) + ",\"value\":" + qb(m.value) + "}";
}

function keyedJson(list: KeyedMatcher[]): string {
  let s = "[";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) s += ",";
    s += "{\"name\":" + qb(list[i].name) + ",\"match\":" + matcherJson(list[i].m) + "}";
  }
  return s + "]";
}

function ruleJson(r: Rule): string {
  let s = "{\"policy\":" + qb(r.policyName);
  s += ",\"ppm\":" + r.ppm.toString();
  s += ",\"delayMs\":" + r.delayMs.toString();
  s += ",\"delayDist\":" + r.delayDist.toString() + ",\"delayA\":" + r.delayA.toString() + ",\"delayB\":" + r.delayB.toString();
  s += ",\"startDelayMs\":" + r.startDelayMs.toString();
  s += ",\"headerControl\":" + (r.hasHeaderControl ? "{\"maxDelayMs\":" + r.hcMaxDelayMs.toString() + ",\"allowAbort\":" + (r.hcAllowAbort ? "true" : "false") + ",\"pairsLen\":" + r.hcReplyHeaders.byteLength.toString() + "}" : "null");
  s += ",\"expiresAtMs\":" + r.expiresAtMs.toString();
  s += ",\"method\":" + (r.method != null ? matcherJson(r.method!) : "null");
  s += ",\"path\":" + (r.path != null ? matcherJson(r.path!) : "null");
  s += ",\"headers\":" + keyedJson(r.headers);
  s += ",\"query\":" + keyedJson(r.query);
  const src = r.source;
  s += ",\"source\":" + (src != null ? "{\"service\":" + qb(src.service) + ",\"namespace\":" + qb(src.namespace) + ",\"principal\":" + qb(src.principal) + "}" : "null");
  if (r.hasAbort) {
    s += ",\"abort\":{\"status\":" + r.httpStatus.toString() + ",\"grpcStatus\":" + r.grpcStatus.toString() + ",\"body\":" + qb(r.body) + ",\"headers\":[";
    for (let i = 0; i < r.abortHeaderNames.length; i++) {
      if (i > 0) s += ",";
      s += "[" + qb(r.abortHeaderNames[i]) + "," + qb(r.abortHeaderValues[i]) + "]";
    }
    s += "],\"pairsLen\":" + r.abortHeaders.byteLength.toString() + "}";
  } else {
    s += ",\"abort\":null";
  }
  return s + "}";
}

let lastSnap: Snapshot = new Snapshot();

/** Decodes a ConfigSnapshot; writes a JSON summary to the output buffer. Returns 1 on success, 0 on error. */
export function decode(ptr: usize, len: i32): i32 {
  const res = decodeSnapshot(ptr, len);
  const snap = res.snapshot;
  if (snap == null) {
    lastSnap = new Snapshot();
    setOut("{\"ok\":false,\"version\":" + qb(res.version) + ",\"nonce\":" + qb(res.nonce) + ",\"error\":" + q(res.error) + "}");
    return 0;
  }
  lastSnap = snap;
  let s = "{\"ok\":true,\"version\":" + qb(snap.version) + ",\"nonce\":" + qb(snap.nonce) +
    ",\"serverTimeMs\":" + snap.serverTimeMs.toString() + ",\"policies\":" + snap.policyCount.toString() + ",\"rules\":[";
  for (let i = 0; i < snap.rules.length; i++) {
    if (i > 0) s += ",";
    s += ruleJson(snap.rules[i]);
  }
  setOut(s + "]}");
  return 1;
}

const view = new RequestView();

/**
 * Index of the first rule of the last decoded snapshot whose match holds for
 * the request given as serialized header pairs; -1 none, -2 malformed pairs.
 */
export function firstMatch(pairsPtr: usize, pairsLen: i32): i32 {
  if (!view.load(pairsPtr, pairsLen)) return -2;
  return view.firstMatch(lastSnap, i64.MIN_VALUE); // expiry is not checked here
}

/** firstMatch by evaluating every rule in full (no quick-reject table): the reference the table must agree with. */
export function firstMatchFull(pairsPtr: usize, pairsLen: i32): i32 {
  if (!view.load(pairsPtr, pairsLen)) return -2;
  for (let i = 0; i < lastSnap.rules.length; i++) if (view.ruleMatches(lastSnap.rules[i])) return i;
  return -1;
}

// The caller the next requests come from (match.source): principal, service, namespace.
let peerPrincipal = new ArrayBuffer(0);
let peerService = new ArrayBuffer(0);
let peerNamespace = new ArrayBuffer(0);
let peerLoads: i32 = 0;
setPeerLoader((p: Peer): void => {
  p.principalPtr = changetype<usize>(peerPrincipal);
  p.principalLen = peerPrincipal.byteLength;
  p.servicePtr = changetype<usize>(peerService);
  p.serviceLen = peerService.byteLength;
  p.namespacePtr = changetype<usize>(peerNamespace);
  p.namespaceLen = peerNamespace.byteLength;
  peerLoads++;
});

/** Sets the caller from "principal\nservice\nnamespace" (empty parts: not known). */
export function setPeer(ptr: usize, len: i32): void {
  const parts = String.UTF8.decodeUnsafe(ptr, <usize>len).split("\n");
  peerPrincipal = String.UTF8.encode(parts.length > 0 ? parts[0] : "");
  peerService = String.UTF8.encode(parts.length > 1 ? parts[1] : "");
  peerNamespace = String.UTF8.encode(parts.length > 2 ? parts[2] : "");
}

/** How often the peer was read (once per request at most). */
export function peerLoadCount(): i32 {
  return peerLoads;
}

/** 1 when the last loaded request was recognised as gRPC. */
export function lastIsGrpc(): i32 {
  return view.isGrpc ? 1 : 0;
}

const regexes: Regex[] = [];

/** Compiles a pattern; returns a handle >= 0, or -1 with the reason in the output buffer. */
export function regexCompile(ptr: usize, len: i32): i32 {
  const re = compileRegex(ptr, len);
  if (re == null) {
    setOut(regexError);
    return -1;
  }
  regexes.push(re);
  return regexes.length - 1;
}

export function regexMatch(handle: i32, ptr: usize, len: i32): i32 {
  if (handle < 0 || handle >= regexes.length) return -1;
  return regexes[handle].match(ptr, len) ? 1 : 0;
}

export function regexReset(): void {
  regexes.length = 0;
}

/** Parses plugin-configuration JSON; output = JSON object of string members, or the error. Returns 1/0. */
export function parseConfig(ptr: usize, len: i32): i32 {
  const m = parseStringMembers(ptr, len);
  if (m == null) {
    setOut(jsonError);
    return 0;
  }
  let s = "{";
  for (let i = 0; i < m.keys.length; i++) {
    if (i > 0) s += ",";
    s += q(m.keys[i]) + ":" + q(m.values[i]);
  }
  setOut(s + "}");
  return 1;
}

/** Decodes a google.protobuf.Struct of strings (node metadata labels); output = JSON object. Returns 1/0. */
export function structLabels(ptr: usize, len: i32): i32 {
  const keys: string[] = [];
  const values: string[] = [];
  if (!decodeStringStruct(ptr, len, keys, values)) {
    setOut("");
    return 0;
  }
  let s = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) s += ",";
    s += q(keys[i]) + ":" + q(values[i]);
  }
  setOut(s + "}");
  return 1;
}

// ---------------------------------------------------------------------------
// Directions, destinations and response faults

function bufs(list: ArrayBuffer[]): string {
  let s = "[";
  for (let i = 0; i < list.length; i++) s += (i > 0 ? "," : "") + qb(list[i]);
  return s + "]";
}

function directedRuleJson(r: Rule): string {
  let s = "{\"policy\":" + qb(r.policyName) + ",\"rateKbps\":" + r.rateKbps.toString();
  const d = r.dest;
  if (d != null) {
    s += ",\"dest\":{\"serviceNs\":" + qb(d.serviceNs) + ",\"shortName\":" + qb(d.shortName) + ",\"host\":" + qb(d.host) + ",\"port\":" + d.port.toString() + "}";
  } else s += ",\"dest\":null";
  const a = r.response;
  if (a != null) {
    s += ",\"response\":{\"status\":" + a.status.toString() + ",\"statusText\":" + qb(a.statusText) +
      ",\"setNames\":" + bufs(a.setNames) + ",\"setValues\":" + bufs(a.setValues) +
      ",\"addNames\":" + bufs(a.addNames) + ",\"addValues\":" + bufs(a.addValues) + ",\"remove\":" + bufs(a.removeNames) +
      ",\"hasBody\":" + (a.hasBody ? "true" : "false") + ",\"body\":" + qb(a.body) + ",\"bodyLength\":" + qb(a.bodyLength) +
      ",\"hasStatusMatch\":" + (a.hasStatusMatch ? "true" : "false") + ",\"codes\":[";
    for (let i = 0; i < a.codes.length; i++) s += (i > 0 ? "," : "") + a.codes[i].toString();
    s += "],\"min\":" + a.min.toString() + ",\"max\":" + a.max.toString() + "}";
  } else s += ",\"response\":null";
  return s + "}";
}

/**
 * Decodes a ConfigSnapshot as a filter of one direction (outbound != 0) in
 * namespace [nsPtr, nsPtr+nsLen) would: the rules it keeps, with their
 * destination, response and rate-limit parts. Returns 1 on success, 0 on error.
 */
export function decodeDirected(ptr: usize, len: i32, outbound: i32, nsPtr: usize, nsLen: i32): i32 {
  const res = decodeSnapshot(ptr, len, outbound != 0, String.UTF8.decodeUnsafe(nsPtr, <usize>nsLen));
  const snap = res.snapshot;
  if (snap == null) {
    lastSnap = new Snapshot();
    setOut("{\"ok\":false,\"error\":" + q(res.error) + "}");
    return 0;
  }
  lastSnap = snap;
  let s = "{\"ok\":true,\"hasDest\":" + (snap.hasDest ? "true" : "false") + ",\"rules\":[";
  for (let i = 0; i < snap.rules.length; i++) s += (i > 0 ? "," : "") + directedRuleJson(snap.rules[i]);
  setOut(s + "]}");
  return 1;
}

/** firstMatch with the route's cluster name given (what injection.ts reads from xds.cluster_name). */
export function firstMatchTo(pairsPtr: usize, pairsLen: i32, clusterPtr: usize, clusterLen: i32): i32 {
  if (!view.load(pairsPtr, pairsLen)) return -2;
  view.dest.reset();
  if (clusterLen > 0) view.dest.setCluster(clusterPtr, clusterLen);
  return view.firstMatch(lastSnap, i64.MIN_VALUE);
}
