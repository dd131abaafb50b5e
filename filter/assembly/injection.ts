// Per-request fault injection (stream contexts): pick the first matching,
// unexpired rule, roll its percentage, then hold the whole request (headers,
// body, trailers) for start_delay_ms / the delay (fixed, or drawn from the
// rule's distribution) on the root's timer queue and resume or abort.

import * as abi from "./abi";
import { Action, WasmResult } from "./abi";
import { utf8, ptrOf, eqBytes } from "./bytes";
import { Rule, RequestView, DELAY_UNIFORM, DELAY_LOGNORMAL, MAX_DELAY_MS, setPeerLoader, setClusterLoader } from "./rules";
import { DestinationView } from "./destination";
import { loadPeer, releasePeer } from "./peer";
import { RuleCounts } from "./counters";
import { Root, reschedule } from "./root";
import { mAborts, mDelays, mDelayMs, mOverMaxActive } from "./metrics";
import * as rng from "./rng";
import { armResponse, disarmResponse, markDelayed } from "./response";
import { armThrottle, disarmThrottle, throttleDue } from "./rate-limit";
import * as control from "./header-control";

const ABORT_DETAILS = utf8("hfi_fault_abort");
/** Property paths of the route's cluster name (newer Envoy, then the pre-1.22 name). */
const P_XDS_CLUSTER = abi.propertyPath(["xds", "cluster_name"]);
const P_CLUSTER = abi.propertyPath(["cluster_name"]);

const PHASE_START: u8 = 1; // waiting start_delay_ms
const PHASE_DELAY: u8 = 2; // waiting fixed_delay_ms

class Pending {
  root: Root;
  rule: Rule;
  phase: u8;
  grpc: bool;
  seq: u32 = 0;
  // Header-controlled (fault.header_control): the request's own delay and abort status replace the rule's.
  byHeaders: bool = false;
  delayMs: u32 = 0;
  status: u32 = 0;
  constructor(root: Root, rule: Rule, phase: u8, grpc: bool) {
    this.root = root;
    this.rule = rule;
    this.phase = phase;
    this.grpc = grpc;
  }
}

const streamRoot = new Map<u32, Root>();
const pendings = new Map<u32, Pending>();
const request = new RequestView();
setPeerLoader(loadPeer);
// The route's cluster, read from the host when the first rule with a destination is looked at;
// the view points into the host's buffer, freed when the request's rule is chosen.
let clusterBuf: usize = 0;
setClusterLoader((d: DestinationView): void => {
  if (abi.loadProperty(P_XDS_CLUSTER) || abi.loadProperty(P_CLUSTER)) {
    clusterBuf = abi.propPtr;
    d.setCluster(abi.propPtr, abi.propLen);
  }
});
let seqCounter: u32 = 0;

// The stream created last (Envoy calls proxy_on_request_headers right after
// proxy_on_context_create): its root without a map lookup.
let lastStream: u32 = 0;
let lastRoot: Root | null = null;

/** proxy_on_context_create of a stream context under `root`. */
export function attachStream(contextId: u32, root: Root): void {
  streamRoot.set(contextId, root);
  lastStream = contextId;
  lastRoot = root;
}

/** proxy_on_delete of a stream context: it leaves the timer queue. */
export function detachStream(contextId: u32): void {
  if (pendings.has(contextId)) {
    const p = pendings.get(contextId);
    finishPending(p.root, contextId);
    reschedule(p.root);
  }
  if (streamRoot.has(contextId)) streamRoot.delete(contextId);
  if (contextId == lastStream) lastRoot = null;
  disarmResponse(contextId);
  disarmThrottle(contextId);
}

/** True while the stream's request waits for its fault (start delay or delay). */
export function isHeld(contextId: u32): bool {
  return pendings.has(contextId);
}

/**
 * proxy_on_request_headers: Continue, or stop-all while a fault runs. Stop-all
 * (not StopIteration) holds the body and trailers too: a proxy that sets
 * allow_on_headers_stop_iteration would otherwise resume on the first body chunk.
 */
export function onRequestHeaders(contextId: u32): u32 {
  let root: Root;
  if (contextId == lastStream && lastRoot != null) root = lastRoot!;
  else if (streamRoot.has(contextId)) root = streamRoot.get(contextId);
  else return Action.Continue;
  const rules = root.snapshot.rules;
  const n = rules.length;
  if (n == 0) return Action.Continue;
  if (!abi.loadRequestHeaderPairs()) return Action.Continue;
  const hp = abi.pairsPtr;
  let chosen: Rule | null = null;
  let grpc = false;
  let byHeaders = false;
  if (request.load(hp, abi.pairsLen)) {
    grpc = request.isGrpc;
    const serverNow: i64 = root.hasExpiringRules ? abi.wallNowMs() + root.clockOffsetMs : 0;
    request.dest.reset();
    const i = request.firstMatch(root.snapshot, serverNow);
    if (i >= 0) {
      chosen = unchecked(rules[i]);
      if (chosen.hasHeaderControl) byHeaders = control.read(request.pairs, chosen);
    }
    if (clusterBuf != 0) {
      heap.free(clusterBuf);
      clusterBuf = 0;
    }
    if (request.peer.loaded) releasePeer();
  }
  if (hp != 0) heap.free(hp);
  if (chosen == null) return Action.Continue;
  const rule = changetype<Rule>(chosen);
  const counts = rule.counts;
  if (counts != null) { counts.matched++; touch(root, counts); }
  // A request that asks for a fault rolls its own share; the rule's percentage is for its other faults.
  const ppm = byHeaders ? control.chosenPpm : rule.ppm;
  if (!byHeaders && rule.delayMs == 0 && rule.delayDist == 0 && !rule.hasAbort && rule.response == null && rule.rateKbps == 0) return Action.Continue;
  if (ppm == 0 || (ppm < 1000000 && rng.uniformMillion() >= ppm)) {
    if (counts != null) counts.skippedPct++;
    return Action.Continue;
  }
  // Response faults arm the stream; the request itself then goes on (after a delay, if the rule has one).
  if (!byHeaders && (rule.response != null || rule.rateKbps > 0)) {
    if (rule.response != null) armResponse(contextId, rule.response!, rule.policyName);
    if (rule.rateKbps > 0) armThrottle(contextId, root, rule.rateKbps);
    if (rule.delayMs == 0 && rule.delayDist == 0 && !rule.hasAbort) return Action.Continue;
  }
  // max_active_faults: a request that would be held beyond the VM's limit passes untouched.
  const holds = rule.startDelayMs > 0 || (byHeaders ? control.chosenDelayMs > 0 : rule.delayMs > 0 || rule.delayDist != 0);
  if (holds && pendings.size >= root.config.maxActiveFaults) {
    abi.incrementMetric(mOverMaxActive, 1);
    if (counts != null) counts.skippedMax++;
    return Action.Continue;
  }
  const p = new Pending(root, rule, PHASE_START, grpc);
  if (byHeaders) {
    p.byHeaders = true;
    p.delayMs = control.chosenDelayMs;
    p.status = control.chosenStatus;
  }
  pendings.set(contextId, p);
  root.waiting++;
  if (rule.startDelayMs > 0) {
    wait(root, contextId, p, rule.startDelayMs);
    return Action.StopAllIterationAndWatermark;
  }
  return applyFault(root, contextId, p);
}

/** From proxy_on_tick: act on every request whose wait is over (as its stream, via set_effective_context). */
export function fireDue(root: Root): void {
  const now = abi.monoNowMs();
  let switched = false;
  while (root.timers.size > 0 && root.timers.peekDeadline() <= now) {
    root.timers.pop();
    const ctx = root.timers.poppedId;
    if (!pendings.has(ctx)) {
      // A response body held by its rate limit (rate-limit.ts) shares the queue.
      if (throttleDue(root, ctx, root.timers.poppedSeq)) switched = true;
      continue;
    }
    const p = pendings.get(ctx);
    if (p.seq != root.timers.poppedSeq) continue;
    if (abi.setEffectiveContext(ctx) != WasmResult.Ok) {
      finishPending(root, ctx);
      continue;
    }
    switched = true;
    if (p.phase == PHASE_START) {
      if (applyFault(root, ctx, p) == Action.Continue) abi.continueRequest();
    } else {
      finishPending(root, ctx);
      if (aborts(p)) sendAbort(p);
      else abi.continueRequest();
    }
  }
  if (switched) abi.setEffectiveContext(root.id);
}

/**
 * A new snapshot pauses policies: every request of this root held by one of
 * them goes on at once, without its fault (as its stream, via set_effective_context).
 */
export function releasePaused(root: Root, paused: ArrayBuffer[]): void {
  if (paused.length == 0 || root.waiting <= 0) return;
  const ids = pendings.keys();
  let switched = false;
  for (let i = 0; i < ids.length; i++) {
    const ctx = unchecked(ids[i]);
    const p = pendings.get(ctx);
    if (p.root !== root || !inList(p.rule.policyName, paused)) continue;
    finishPending(root, ctx);
    if (abi.setEffectiveContext(ctx) != WasmResult.Ok) continue;
    switched = true;
    abi.continueRequest();
  }
  if (switched) abi.setEffectiveContext(root.id);
  reschedule(root);
}

function inList(name: ArrayBuffer, names: ArrayBuffer[]): bool {
  for (let i = 0; i < names.length; i++) {
    const n = unchecked(names[i]);
    if (eqBytes(ptrOf(name), name.byteLength, ptrOf(n), n.byteLength)) return true;
  }
  return false;
}

function wait(root: Root, ctx: u32, p: Pending, ms: u32): void {
  p.seq = ++seqCounter;
  root.timers.push(abi.monoNowMs() + <i64>ms, ctx, p.seq);
  reschedule(root);
}

@inline function aborts(p: Pending): bool {
  return p.byHeaders ? p.status != 0 : p.rule.hasAbort;
}

function sendAbort(p: Pending): void {
  const rule = p.rule;
  if (p.byHeaders) {
    // The status the request asked for, no body; gRPC callers get the grpc-status Envoy maps from it.
    abi.sendLocalResponse(p.status, ABORT_DETAILS, 0, 0, rule.hcReplyHeaders, -1);
  } else {
    const grpcStatus: i32 = p.grpc && rule.grpcStatus != 0 ? <i32>rule.grpcStatus : -1;
    abi.sendLocalResponse(rule.httpStatus, ABORT_DETAILS, ptrOf(rule.body), rule.body.byteLength, rule.abortHeaders, grpcStatus);
  }
  abi.incrementMetric(mAborts, 1);
  const c = rule.counts;
  if (c != null) { c.aborted++; touch(p.root, c); }
}

/** Marks counts changed; the first change after a report arms the tick that sends the next one. */
@inline function touch(root: Root, c: RuleCounts): void {
  c.dirty = true;
  if (!root.faults.dirty) {
    root.faults.dirty = true;
    reschedule(root);
  }
}

/** This request's delay in ms: the fixed one, or a draw from the rule's distribution. */
function delayOf(rule: Rule): u32 {
  if (rule.delayDist == DELAY_UNIFORM) return <u32>rule.delayA + rng.uniformBelow(<u32>rule.delayB);
  if (rule.delayDist == DELAY_LOGNORMAL) {
    const ms = Math.round(Math.exp(rule.delayA + rule.delayB * rng.standardNormal()));
    return ms < <f64>MAX_DELAY_MS ? <u32>ms : MAX_DELAY_MS; // draws above the limit are cut to it
  }
  return rule.delayMs;
}

/** Starts the fault proper (after any start delay). Returns the header action for the current call. */
function applyFault(root: Root, ctx: u32, p: Pending): Action {
  const rule = p.rule;
  const delayMs = p.byHeaders ? p.delayMs : delayOf(rule);
  if (delayMs > 0) {
    abi.incrementMetric(mDelays, 1);
    abi.recordMetric(mDelayMs, <u64>delayMs);
    const c = rule.counts;
    if (c != null) { c.delayed++; c.delayMs += <u64>delayMs; touch(root, c); }
    if (!aborts(p)) markDelayed(ctx, rule.policyName); // delay + abort: the abort's reply is marked
    p.phase = PHASE_DELAY;
    wait(root, ctx, p, delayMs);
    return Action.StopAllIterationAndWatermark;
  }
  finishPending(root, ctx);
  if (aborts(p)) {
    sendAbort(p);
    return Action.StopAllIterationAndWatermark;
  }
  return Action.Continue;
}

function finishPending(root: Root, ctx: u32): void {
  if (pendings.has(ctx)) {
    pendings.delete(ctx);
    root.waiting--;
  }
}
