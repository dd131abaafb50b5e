// The compiled, immutable form of a ConfigSnapshot and the per-request
// matching against it. Matching reads the request in place (host header
// buffer) and allocates nothing.

import { Regex } from "./regex";
import { RuleCounts } from "./counters";
import { DestMatcher, DestinationView } from "./destination";
import { ResponseAction } from "./response";
import { PairsView, eqBytes, eqIgnoreCase, startsWith, startsWithIgnoreCase, ptrOf, utf8 } from "./bytes";
import { KeyedRules, PATH_KEY_BYTES, fnvFrom, fnvStep, fnvSeed, keyOf, pathKey, narrow, anyKeyed } from "./rule-index";

export const KIND_NONE: u8 = 0;
export const KIND_EXACT: u8 = 1;
export const KIND_PREFIX: u8 = 2;
export const KIND_REGEX: u8 = 3;
export const KIND_PRESENT: u8 = 4;

/** The server's delay limit (policy/limits.ts maxDelayMs). */
export const MAX_DELAY_MS: u32 = 120000;

// Rule.delayDist: 0 = the fixed delay (delayMs).
export const DELAY_UNIFORM: u8 = 1;
export const DELAY_LOGNORMAL: u8 = 2;

export class StringMatcher {
  kind: u8 = KIND_NONE;
  value: ArrayBuffer = new ArrayBuffer(0);
  re: Regex | null = null;
  present: bool = true; // KIND_PRESENT only

  test(ptr: usize, len: i32): bool {
    const k = this.kind;
    if (k == KIND_EXACT) return eqBytes(ptr, len, ptrOf(this.value), this.value.byteLength);
    if (k == KIND_PREFIX) return startsWith(ptr, len, ptrOf(this.value), this.value.byteLength);
    if (k == KIND_REGEX) return this.re!.match(ptr, len);
    return true;
  }
}

/** match.source: empty fields are unconstrained (the server sends at least one). */
export class SourceMatcher {
  service: ArrayBuffer = new ArrayBuffer(0);
  namespace: ArrayBuffer = new ArrayBuffer(0);
  principal: ArrayBuffer = new ArrayBuffer(0); // without spiffe://
}

export const PEER_PRINCIPAL: u32 = 1, PEER_SERVICE: u32 = 2, PEER_NAMESPACE: u32 = 4, PEER_ALL: u32 = 7;

/**
 * The calling workload of the current request, read from the host on first use: byte ranges
 * the loader keeps valid for the request (host buffers in the filter, freed after the match).
 */
export class Peer {
  loaded: bool = false;
  /** PEER_* bits: the fields some rule of the snapshot compares (the loader may leave the others empty). */
  wanted: u32 = PEER_ALL;
  principalPtr: usize = 0; // URI SAN without spiffe://; empty = no mTLS
  principalLen: i32 = 0;
  servicePtr: usize = 0;
  serviceLen: i32 = 0;
  namespacePtr: usize = 0; // peer metadata, else the principal's ns/<ns>
  namespaceLen: i32 = 0;
}

// Reads the peer into the Peer it is given. Installed by injection.ts (host
// properties); the test entry installs its own. No host import here.
// Every loader sets all three fields (no caller known: empty), so the request path resets nothing.
let peerLoader: (p: Peer) => void = (p: Peer): void => {
  p.principalLen = 0;
  p.serviceLen = 0;
  p.namespaceLen = 0;
};
export function setPeerLoader(f: (p: Peer) => void): void {
  peerLoader = f;
}

// Hands the route's cluster name to the view (setCluster), on the first rule with a
// destination. Installed by injection.ts; the test entry sets the cluster itself.
let clusterLoader: (d: DestinationView) => void = (d: DestinationView): void => {};
export function setClusterLoader(f: (d: DestinationView) => void): void {
  clusterLoader = f;
}

/** A header or query-parameter condition. */
export class KeyedMatcher {
  name: ArrayBuffer = new ArrayBuffer(0);
  m: StringMatcher = new StringMatcher();
}

export class Rule {
  policyName: ArrayBuffer = new ArrayBuffer(0);
  index: u32 = 0; // position in its policy (the `rule` of fault counts)
  counts: RuleCounts | null = null; // set when the snapshot is applied
  method: StringMatcher | null = null;
  path: StringMatcher | null = null;
  headers: KeyedMatcher[] = [];
  query: KeyedMatcher[] = [];
  source: SourceMatcher | null = null;
  ppm: u32 = 0; // parts per million, 0..1e6
  delayMs: u32 = 0; // fixed delay; a distribution's draws replace it (DELAY_*)
  delayDist: u8 = 0; // 0 (fixed), DELAY_UNIFORM, DELAY_LOGNORMAL
  delayA: f64 = 0; // uniform: min_ms; lognormal: mu = ln(p50_ms)
  delayB: f64 = 0; // uniform: max_ms - min_ms + 1 (draws); lognormal: sigma
  startDelayMs: u32 = 0;
  durationSeconds: u32 = 0;
  hasAbort: bool = false;
  httpStatus: u32 = 0;
  body: ArrayBuffer = new ArrayBuffer(0);
  abortHeaderNames: ArrayBuffer[] = [];
  abortHeaderValues: ArrayBuffer[] = [];
  abortHeaders: ArrayBuffer = new ArrayBuffer(0); // serialized pairs, incl. x-hfi-fault
  grpcStatus: u32 = 0; // 0 = not set
  hasHeaderControl: bool = false; // x-hfi-* request headers choose the fault
  hcMaxDelayMs: u32 = 0; // 0 = delays may not be asked for
  hcAllowAbort: bool = false;
  hcReplyHeaders: ArrayBuffer = new ArrayBuffer(0); // serialized pairs: x-hfi-fault
  expiresAtMs: i64 = 0; // server clock; 0 = never
  dest: DestMatcher | null = null; // outbound rules: match.destination
  response: ResponseAction | null = null; // fault.response
  rateKbps: u32 = 0; // fault.response_rate_limit.kbps; 0 = none
}

export class Snapshot {
  version: ArrayBuffer = new ArrayBuffer(0);
  nonce: ArrayBuffer = new ArrayBuffer(0);
  serverTimeMs: i64 = 0;
  policyCount: i32 = 0;
  rules: Rule[] = [];
  paused: ArrayBuffer[] = []; // names of paused policies (their rules are not in `rules`)
  quick: StaticArray<i64> = new StaticArray<i64>(0); // Q_STRIDE bytes per rule, see prepareSnapshot
  prefixes: ArrayBuffer[] = []; // regex literal prefixes the quick table points at (kept alive here)
  hasHeaderQuick: bool = false; // some rule's quick record has an exact header (firstMatch folds the request's names then)
  hasDest: bool = false; // some rule has a destination condition
  peerFields: u32 = 0; // PEER_* bits: the caller's fields some rule compares
  index: RuleIndex | null = null; // set by prepareSnapshot
}

// Caller fields as keys of the source dimension (the first one a rule sets).
const SRC_SERVICE: u32 = 1, SRC_PRINCIPAL: u32 = 2, SRC_NAMESPACE: u32 = 3;

/** A snapshot's candidate index (rule-index.ts) and its per-request scratch. */
class RuleIndex {
  words: i32;
  all: StaticArray<u64>; // every rule
  cand: StaticArray<u64>; // scratch: the candidates of the current request
  dim: StaticArray<u64>; // scratch: one dimension's rules
  method: KeyedRules; // exact method (its methodKey)
  path: KeyedRules; // path literal (exact, prefix, an anchored regex's literal prefix): its first <= PATH_KEY_BYTES bytes
  pathLens: u32 = 0; // bit l: some literal is keyed by its first l bytes
  header: KeyedRules; // the first exact header: name (numbered in headerNames), value
  headerNames: ArrayBuffer[];
  source: KeyedRules; // match.source: service, else principal, else namespace

  constructor(n: i32, mk: StaticArray<u64>, pk: StaticArray<u64>, pathLens: u32, hk: StaticArray<u64>, headerNames: ArrayBuffer[], sk: StaticArray<u64>) {
    const words = (n + 63) >> 6;
    const all = new StaticArray<u64>(words);
    for (let i = 0; i < n; i++) unchecked(all[i >> 6] |= (<u64>1) << <u64>(i & 63));
    this.words = words;
    this.all = all;
    this.cand = new StaticArray<u64>(words);
    this.dim = new StaticArray<u64>(words);
    this.method = new KeyedRules(mk, words);
    this.path = new KeyedRules(pk, words);
    this.pathLens = pathLens;
    this.header = new KeyedRules(hk, words);
    this.headerNames = headerNames;
    this.source = new KeyedRules(sk, words);
  }
}

/** The key of a byte string under a chain tag (header name number + 1, or a SRC_* field). */
@inline function bytesKey(tag: u32, p: usize, n: i32): u64 {
  return keyOf(fnvFrom(fnvSeed(tag), p, n));
}

// Quick-reject record per rule (raw memory in Snapshot.quick): the per-request
// scan reads these flat words and calls nothing for a rule they rule out; only
// a rule that passes them and has further conditions goes to ruleMatches.
const Q_METHOD: usize = 0; // i64 methodKey of an exact method condition; 0 = none
const Q_EXPIRES: usize = 8; // i64 rule.expiresAtMs
const Q_PATH_PTR: usize = 16;
const Q_PATH_LEN: usize = 20;
const Q_PATH_MODE: usize = 24; // 0 none, 1 exact, 2 must start with (prefix, or an anchored regex's literal prefix)
const Q_FULL: usize = 28; // 1 = conditions left for ruleMatches (method/path regex or prefix, long method, headers, query)
const Q_HNAME_PTR: usize = 32; // the rule's first header matcher when it is `exact` (a necessary condition)
const Q_HNAME_LEN: usize = 36; // 0 = none (header names are never empty)
const Q_HVAL_PTR: usize = 40;
const Q_HVAL_LEN: usize = 44;
const Q_HBIT: usize = 48; // i64 headerBit of that header's name: a request whose names' bits miss it lacks the header
const Q_STRIDE: usize = 56;

/**
 * One bit of 64 for a header name, from its length and (ASCII case-folded) first and last
 * bytes. The request's names are folded into a mask once, so a rule on a header the request
 * does not carry is ruled out by one AND instead of a scan of every request header.
 */
@inline function headerBit(p: usize, len: i32): i64 {
  if (len <= 0) return 0;
  const h = (<u32>len * 31) ^ ((<u32>load<u8>(p) | 32) * 7) ^ (<u32>load<u8>(p + <usize>len - 1) | 32);
  return (<i64>1) << <i64>(h & 63);
}

/** The headerBit of every header name of a request (pairs: 16-byte entries, name ptr/len first). */
function headerMask(e: usize, n: i32): i64 {
  let mask: i64 = 0;
  for (let i = 0; i < n; i++, e += 16) mask |= headerBit(<usize>load<u32>(e), load<i32>(e, 4));
  return mask;
}

/**
 * A method of up to 7 bytes as one nonzero integer (length + 1 in the top
 * byte, the bytes below); -1 for longer ones, which never equals a rule's key.
 */
function methodKey(p: usize, len: i32): i64 {
  if (len > 7) return -1;
  let k: i64 = <i64>(len + 1) << 56;
  for (let i = 0; i < len; i++) k |= <i64>load<u8>(p + <usize>i) << (<i64>i << 3);
  return k;
}

/** Builds snap.quick from snap.rules; called once per decoded snapshot. */
export function prepareSnapshot(snap: Snapshot): void {
  const rules = snap.rules;
  const n = rules.length;
  const q = new StaticArray<i64>(n * <i32>(Q_STRIDE / 8));
  // Index keys per rule (0 = unconstrained in that dimension).
  const mk = new StaticArray<u64>(n), pk = new StaticArray<u64>(n), hk = new StaticArray<u64>(n), sk = new StaticArray<u64>(n);
  let pathLens: u32 = 0;
  const headerNames: ArrayBuffer[] = [];
  let rec = changetype<usize>(q);
  let lastName: ArrayBuffer | null = null;
  for (let i = 0; i < n; i++, rec += Q_STRIDE) {
    const r = rules[i];
    let full = r.headers.length + r.query.length + (r.source != null ? 1 : 0);
    if (r.dest != null) { full = 1; snap.hasDest = true; }
    const m = r.method;
    if (m != null) {
      const key = methodKey(ptrOf(m.value), m.value.byteLength);
      if (m.kind == KIND_EXACT && key > 0) {
        store<i64>(rec, key, Q_METHOD);
        unchecked(mk[i] = <u64>key);
      } else full = 1;
    }
    store<i64>(rec, r.expiresAtMs, Q_EXPIRES);
    const p = r.path;
    if (p != null) {
      let lit = p.value;
      if (p.kind == KIND_REGEX) {
        lit = p.re!.literalPrefix();
        snap.prefixes.push(lit);
        full = 1;
      }
      store<usize>(rec, ptrOf(lit), Q_PATH_PTR);
      store<i32>(rec, lit.byteLength, Q_PATH_LEN);
      store<i32>(rec, p.kind == KIND_EXACT ? 1 : 2, Q_PATH_MODE);
      const kl = lit.byteLength < PATH_KEY_BYTES ? lit.byteLength : PATH_KEY_BYTES;
      if (kl > 0) {
        unchecked(pk[i] = pathKey(fnvFrom(fnvSeed(0), ptrOf(lit), kl), kl));
        pathLens |= (<u32>1) << <u32>kl;
      }
    }
    for (let h = 0; h < r.headers.length; h++) {
      const hm = r.headers[h];
      if (hm.m.kind != KIND_EXACT) continue;
      let j = 0;
      while (j < headerNames.length && !sameHeaderName(headerNames[j], hm.name)) j++;
      if (j == headerNames.length) headerNames.push(hm.name);
      unchecked(hk[i] = bytesKey(<u32>j + 1, ptrOf(hm.m.value), hm.m.value.byteLength));
      break;
    }
    const src = r.source;
    if (src != null) {
      if (src.principal.byteLength > 0) snap.peerFields |= PEER_PRINCIPAL;
      if (src.service.byteLength > 0) snap.peerFields |= PEER_SERVICE;
      if (src.namespace.byteLength > 0) snap.peerFields |= PEER_NAMESPACE;
      if (src.service.byteLength > 0) unchecked(sk[i] = bytesKey(SRC_SERVICE, ptrOf(src.service), src.service.byteLength));
      else if (src.principal.byteLength > 0) unchecked(sk[i] = bytesKey(SRC_PRINCIPAL, ptrOf(src.principal), src.principal.byteLength));
      else if (src.namespace.byteLength > 0) unchecked(sk[i] = bytesKey(SRC_NAMESPACE, ptrOf(src.namespace), src.namespace.byteLength));
    }
    store<i32>(rec, full, Q_FULL);
    if (r.headers.length > 0) {
      const h = r.headers[0];
      if (h.m.kind == KIND_EXACT) {
        // Rules in a row on one header name share one pointer: the scan's cache then hits on ==.
        if (lastName == null || !eqIgnoreCase(ptrOf(lastName), lastName.byteLength, ptrOf(h.name), h.name.byteLength)) lastName = h.name;
        store<usize>(rec, ptrOf(lastName), Q_HNAME_PTR);
        store<i32>(rec, h.name.byteLength, Q_HNAME_LEN);
        store<usize>(rec, ptrOf(h.m.value), Q_HVAL_PTR);
        store<i32>(rec, h.m.value.byteLength, Q_HVAL_LEN);
        store<i64>(rec, headerBit(ptrOf(h.name), h.name.byteLength), Q_HBIT);
        snap.hasHeaderQuick = true;
      }
    }
  }
  snap.quick = q;
  snap.index = new RuleIndex(n, mk, pk, pathLens, hk, headerNames, sk);
}

/**
 * Index of the first rule from `from` on that the quick table does not rule
 * out for a request with method key `mk` and path [pp, pp+pl) at `now`, or -1.
 * Raw memory only, so it compiles to a tight loop.
 */
function scanQuick(rec: usize, n: i32, from: i32, mk: i64, pp: usize, pl: i32, now: i64, pairs: usize, np: i32, hmask: i64): i32 {
  // The last header name looked up, where its (first) value is and how often it occurs: rules in a
  // row on one header (x-user: user-1, user-2, ...) cost a name and a value compare each, not a scan.
  let cName: usize = 0;
  let cLen: i32 = 0;
  let cVal: usize = 0;
  let cValLen: i32 = 0;
  let cCount: i32 = 0;
  for (let i = from; i < n; i++, rec += Q_STRIDE) {
    const m = load<i64>(rec, Q_METHOD);
    if (m != 0 && m != mk) continue;
    const exp = load<i64>(rec, Q_EXPIRES);
    if (exp != 0 && now >= exp) continue;
    const mode = load<i32>(rec, Q_PATH_MODE);
    if (mode != 0) {
      const len = load<i32>(rec, Q_PATH_LEN);
      if (mode == 1 ? len != pl : len > pl) continue;
      if (memory.compare(pp, load<usize>(rec, Q_PATH_PTR), <usize>len) != 0) continue;
    }
    const hl = load<i32>(rec, Q_HNAME_LEN);
    if (hl != 0) {
      if ((load<i64>(rec, Q_HBIT) & hmask) == 0) continue;
      const name = load<usize>(rec, Q_HNAME_PTR);
      if (name != cName && (hl != cLen || !eqIgnoreCase(name, hl, cName, cLen))) {
        cName = name;
        cLen = hl;
        cCount = 0;
        let e = pairs;
        for (let k = 0; k < np; k++, e += 16) {
          if (load<i32>(e, 4) == hl && eqIgnoreCase(<usize>load<u32>(e), hl, name, hl)) {
            if (cCount++ == 0) { cVal = <usize>load<u32>(e, 8); cValLen = load<i32>(e, 12); }
          }
        }
      }
      if (cCount == 0) continue;
      const vl = load<i32>(rec, Q_HVAL_LEN);
      const vp = load<usize>(rec, Q_HVAL_PTR);
      if (cCount == 1 ? vl != cValLen || memory.compare(cVal, vp, <usize>vl) != 0 : !hasHeaderValue(pairs, np, name, hl, vp, vl)) continue;
    }
    return i;
  }
  return -1;
}

const H_METHOD = utf8(":method");
const H_PATH = utf8(":path");
const H_CONTENT_TYPE = utf8("content-type");
const GRPC_CT = utf8("application/grpc");

// Scratch for URL-decoded query names/values (grown on demand, never shrunk).
let scratchA: usize = 0;
let scratchACap: i32 = 0;
let scratchB: usize = 0;
let scratchBCap: i32 = 0;

function ensureScratch(n: i32): void {
  if (n > scratchACap) {
    if (scratchA != 0) heap.free(scratchA);
    scratchACap = n < 256 ? 256 : n;
    scratchA = heap.alloc(<usize>scratchACap);
  }
  if (n > scratchBCap) {
    if (scratchB != 0) heap.free(scratchB);
    scratchBCap = n < 256 ? 256 : n;
    scratchB = heap.alloc(<usize>scratchBCap);
  }
}

@inline function hexVal(c: u32): i32 {
  if (c - 48 < 10) return <i32>(c - 48);
  const l = c | 32;
  if (l - 97 < 6) return <i32>(l - 87);
  return -1;
}

/** application/x-www-form-urlencoded decoding of [src, src+len) into dst; returns the decoded length. */
export function urlDecode(src: usize, len: i32, dst: usize): i32 {
  let o = 0;
  for (let i = 0; i < len; i++) {
    let c = <u32>load<u8>(src + <usize>i);
    if (c == 43) c = 32;
    else if (c == 37 && i + 2 < len) {
      const h = hexVal(<u32>load<u8>(src + <usize>i + 1));
      const l = hexVal(<u32>load<u8>(src + <usize>i + 2));
      if (h >= 0 && l >= 0) { c = <u32>(h * 16 + l); i += 2; }
    }
    store<u8>(dst + <usize>o, <u8>c);
    o++;
  }
  return o;
}

/** Some pair of the raw pair table [e, e + 16*n) has key name (ASCII case-insensitive) and value v. */
function hasHeaderValue(e: usize, n: i32, name: usize, nl: i32, v: usize, vl: i32): bool {
  for (let i = 0; i < n; i++, e += 16) {
    if (load<i32>(e, 4) == nl && load<i32>(e, 12) == vl && eqIgnoreCase(<usize>load<u32>(e), nl, name, nl) &&
      memory.compare(<usize>load<u32>(e, 8), v, <usize>vl) == 0) return true;
  }
  return false;
}

/** The parts of one request that rules look at, located in the host header buffer. */
export class RequestView {
  pairs: PairsView = new PairsView();
  methodPtr: usize = 0;
  methodLen: i32 = 0;
  pathPtr: usize = 0;
  pathLen: i32 = 0;
  queryPtr: usize = 0;
  queryLen: i32 = 0;
  isGrpc: bool = false;
  /** Destination of the request; the caller resets it (the cluster is read on first use, clusterLoader). */
  dest: DestinationView = new DestinationView();
  peer: Peer = new Peer();

  load(ptr: usize, size: i32): bool {
    this.peer.loaded = false;
    this.methodPtr = 0; this.methodLen = 0;
    this.pathPtr = 0; this.pathLen = 0;
    this.queryPtr = 0; this.queryLen = 0;
    this.isGrpc = false;
    if (!this.pairs.parse(ptr, size)) return false;
    const p = this.pairs;
    let i = p.find(ptrOf(H_METHOD), H_METHOD.byteLength);
    if (i >= 0) { this.methodPtr = p.valPtr(i); this.methodLen = p.valLen(i); }
    i = p.find(ptrOf(H_PATH), H_PATH.byteLength);
    if (i >= 0) {
      const vp = p.valPtr(i);
      const vl = p.valLen(i);
      let q = 0;
      while (q < vl && load<u8>(vp + <usize>q) != 63) q++; // '?'
      this.pathPtr = vp;
      this.pathLen = q;
      if (q < vl) { this.queryPtr = vp + <usize>q + 1; this.queryLen = vl - q - 1; }
    }
    i = p.find(ptrOf(H_CONTENT_TYPE), H_CONTENT_TYPE.byteLength);
    if (i >= 0) this.isGrpc = startsWithIgnoreCase(p.valPtr(i), p.valLen(i), ptrOf(GRPC_CT), GRPC_CT.byteLength);
    return true;
  }

  headerHolds(h: KeyedMatcher): bool {
    const p = this.pairs;
    const np = ptrOf(h.name);
    const nl = h.name.byteLength;
    if (h.m.kind == KIND_PRESENT) return (p.find(np, nl) >= 0) == h.m.present;
    // Any occurrence of a repeated header may satisfy the condition.
    let i = p.find(np, nl);
    while (i >= 0) {
      if (h.m.test(p.valPtr(i), p.valLen(i))) return true;
      i = p.find(np, nl, i + 1);
    }
    return false;
  }

  queryHolds(qm: KeyedMatcher): bool {
    const want = qm.m.kind == KIND_PRESENT ? qm.m.present : true;
    const q = this.queryPtr;
    const n = this.queryLen;
    if (n == 0) return !want;
    ensureScratch(n);
    let found = false;
    let start = 0;
    while (start <= n) {
      let end = start;
      while (end < n && load<u8>(q + <usize>end) != 38) end++; // '&'
      if (end > start) {
        let eq = start;
        while (eq < end && load<u8>(q + <usize>eq) != 61) eq++; // '='
        const nameLen = urlDecode(q + <usize>start, eq - start, scratchA);
        if (eqBytes(scratchA, nameLen, ptrOf(qm.name), qm.name.byteLength)) {
          if (qm.m.kind == KIND_PRESENT) return want;
          const vStart = eq < end ? eq + 1 : end;
          const vLen = urlDecode(q + <usize>vStart, end - vStart, scratchB);
          if (qm.m.test(scratchB, vLen)) { found = true; break; }
        }
      }
      start = end + 1;
    }
    if (qm.m.kind == KIND_PRESENT) return !want;
    return found;
  }

  /**
   * Index of the first rule of snap (in order) that is not expired at `now`
   * (server clock ms: skipped when `expiresAtMs != 0 && now >= expiresAtMs`)
   * and whose match holds for the loaded request; -1 when none.
   */
  firstMatch(snap: Snapshot, now: i64): i32 {
    const n = snap.rules.length;
    if (n == 0) return -1;
    const ix = snap.index!;
    const words = ix.words;
    const cand = changetype<usize>(ix.cand);
    const dim = changetype<usize>(ix.dim);
    memory.copy(cand, changetype<usize>(ix.all), <usize>words << 3);
    const mk = methodKey(this.methodPtr, this.methodLen);
    // Dimension by dimension, the rules the request can still match (host reads last).
    if (ix.method.keyed) {
      ix.method.begin(dim, words);
      if (mk > 0) ix.method.add(dim, <u64>mk);
      if (!narrow(cand, dim, words)) return -1;
    }
    if (ix.path.keyed) {
      ix.path.begin(dim, words);
      const pp = this.pathPtr;
      const kl = this.pathLen < PATH_KEY_BYTES ? this.pathLen : PATH_KEY_BYTES;
      const lens = ix.pathLens;
      let h = fnvSeed(0);
      for (let l = 1; l <= kl; l++) {
        h = fnvStep(h, <u32>load<u8>(pp + <usize>l - 1));
        if ((lens >> <u32>l) & 1) ix.path.add(dim, pathKey(h, l));
      }
      if (!narrow(cand, dim, words)) return -1;
    }
    const pe = changetype<usize>(this.pairs.ents);
    const pc = this.pairs.count;
    if (ix.header.keyed) {
      ix.header.begin(dim, words);
      const names = ix.headerNames;
      for (let j = 0; j < names.length; j++) {
        const name = unchecked(names[j]);
        const np = ptrOf(name), nl = name.byteLength;
        let e = pe;
        for (let k = 0; k < pc; k++, e += 16) {
          if (load<i32>(e, 4) == nl && eqIgnoreCase(<usize>load<u32>(e), nl, np, nl)) ix.header.add(dim, bytesKey(<u32>j + 1, <usize>load<u32>(e, 8), load<i32>(e, 12)));
        }
      }
      if (!narrow(cand, dim, words)) return -1;
    }
    this.peer.wanted = snap.peerFields;
    if (ix.source.keyed && anyKeyed(cand, ix.source.any, words)) {
      const peer = this.loadedPeer();
      ix.source.begin(dim, words);
      if (peer.serviceLen > 0) ix.source.add(dim, bytesKey(SRC_SERVICE, peer.servicePtr, peer.serviceLen));
      if (peer.principalLen > 0) ix.source.add(dim, bytesKey(SRC_PRINCIPAL, peer.principalPtr, peer.principalLen));
      if (peer.namespaceLen > 0) ix.source.add(dim, bytesKey(SRC_NAMESPACE, peer.namespacePtr, peer.namespaceLen));
      if (!narrow(cand, dim, words)) return -1;
    }
    // The candidates in order, each checked in full: its quick record, then ruleMatches.
    const q = changetype<usize>(snap.quick);
    const hmask = snap.hasHeaderQuick ? headerMask(pe, pc) : 0;
    for (let w = 0; w < words; w++) {
      let bits = load<u64>(cand + (<usize>w << 3));
      while (bits != 0) {
        const i = (w << 6) + <i32>ctz(bits);
        bits &= bits - 1;
        const rec = q + <usize>i * Q_STRIDE;
        if (scanQuick(rec, i + 1, i, mk, this.pathPtr, this.pathLen, now, pe, pc, hmask) < 0) continue;
        if (load<i32>(rec, Q_FULL) == 0 || this.ruleMatches(unchecked(snap.rules[i]))) return i;
      }
    }
    return -1;
  }

  /** Every condition of r holds (cheap ones first, method/path regexes last: the order cannot change the result). */
  ruleMatches(r: Rule): bool {
    const m = r.method;
    const mRe = m != null && m.kind == KIND_REGEX;
    if (m != null && !mRe && !m.test(this.methodPtr, this.methodLen)) return false;
    const pm = r.path;
    const pRe = pm != null && pm.kind == KIND_REGEX;
    if (pm != null && !pRe && !pm.test(this.pathPtr, this.pathLen)) return false;
    const hs = r.headers;
    for (let i = 0, n = hs.length; i < n; i++) if (!this.headerHolds(unchecked(hs[i]))) return false;
    const qs = r.query;
    for (let i = 0, n = qs.length; i < n; i++) if (!this.queryHolds(unchecked(qs[i]))) return false;
    const d = r.dest;
    if (d != null) {
      if (!this.dest.loaded) {
        clusterLoader(this.dest);
        this.dest.load(this.pairs);
      }
      if (!this.dest.holds(d)) return false;
    }
    if (mRe && !m!.test(this.methodPtr, this.methodLen)) return false;
    if (pRe && !pm!.test(this.pathPtr, this.pathLen)) return false;
    // The caller's identity costs host calls: read last, once per request.
    const src = r.source;
    return src == null || this.sourceHolds(src);
  }

  /** The caller, read from the host on first use (once per request). */
  loadedPeer(): Peer {
    const peer = this.peer;
    if (!peer.loaded) {
      peerLoader(peer);
      peer.loaded = true;
    }
    return peer;
  }

  sourceHolds(src: SourceMatcher): bool {
    const peer = this.loadedPeer();
    if (src.principal.byteLength > 0 && !eqBytes(peer.principalPtr, peer.principalLen, ptrOf(src.principal), src.principal.byteLength)) return false;
    if (src.service.byteLength > 0 && !eqBytes(peer.servicePtr, peer.serviceLen, ptrOf(src.service), src.service.byteLength)) return false;
    return src.namespace.byteLength == 0 || eqBytes(peer.namespacePtr, peer.namespaceLen, ptrOf(src.namespace), src.namespace.byteLength);
  }
}

/** Header-name comparison used by tests and matching alike. */
export function sameHeaderName(a: ArrayBuffer, b: ArrayBuffer): bool {
  return eqIgnoreCase(ptrOf(a), a.byteLength, ptrOf(b), b.byteLength);
}
