// Response rate limit (fault.response_rate_limit, as Envoy's fault filter
// response_rate_limit): the response body leaves no faster than kbps KiB/s,
// counted from the first body byte. proxy-wasm cannot inject data later
// (Envoy's own fault filter can), only hold what arrived and release all of
// it at once, so each body callback is paced: a chunk that would go over the
// rate is held (StopIterationAndWatermark: later chunks join it and Envoy's
// watermarks slow the upstream down instead of buffering without bound)
// until the time at which everything held is within the rate, then released
// with proxy_continue_stream(Response) from the root's timer. The body is
// never faster than the limit; it leaves in bursts of what arrived meanwhile.

import * as abi from "./abi";
import { DataAction, WasmResult } from "./abi";
import { Root, reschedule } from "./root";
import { mRateLimited } from "./metrics";

class Throttle {
  root: Root;
  bytesPerMs: f64;
  startMs: i64 = -1;
  released: f64 = 0;
  held: f64 = 0;
  stopped: bool = false;
  ended: bool = false;
  seq: u32 = 0;
  constructor(root: Root, kbps: u32) {
    this.root = root;
    this.bytesPerMs = <f64>kbps * 1024.0 / 1000.0;
  }

  /** When everything received so far may have left (monotonic ms). */
  dueAt(): i64 {
    return this.startMs + <i64>Math.ceil((this.released + this.held) / this.bytesPerMs);
  }
}

const throttles = new Map<u32, Throttle>();
let seqCounter: u32 = 0;

/** The request's rule has a response rate limit and its roll hit. */
export function armThrottle(contextId: u32, root: Root, kbps: u32): void {
  throttles.set(contextId, new Throttle(root, kbps));
  abi.incrementMetric(mRateLimited, 1);
}

/** proxy_on_delete, or a response without a body. */
export function disarmThrottle(contextId: u32): void {
  if (throttles.size == 0 || !throttles.has(contextId)) return;
  const t = throttles.get(contextId);
  throttles.delete(contextId);
  if (t.stopped) {
    t.root.waiting--;
    reschedule(t.root);
  }
}

/** proxy_on_response_body (size: the chunk as it now is, after a response rewrite). */
export function onThrottledBody(contextId: u32, size: u32, endOfStream: bool): u32 {
  if (throttles.size == 0 || !throttles.has(contextId)) return DataAction.Continue;
  const t = throttles.get(contextId);
  const now = abi.monoNowMs();
  if (t.startMs < 0) t.startMs = now;
  t.held += <f64>size;
  if (endOfStream) t.ended = true;
  const due = t.dueAt();
  if (!t.stopped && due <= now) {
    t.released += t.held;
    t.held = 0;
    if (t.ended) throttles.delete(contextId);
    return DataAction.Continue;
  }
  if (!t.stopped) {
    t.stopped = true;
    t.root.waiting++;
  }
  arm(t, contextId, due);
  return DataAction.StopIterationAndWatermark;
}

function arm(t: Throttle, contextId: u32, at: i64): void {
  t.seq = ++seqCounter;
  t.root.timers.push(at, contextId, t.seq);
  reschedule(t.root);
}

/** From the root's timer (fireDue): release what the stream holds, or wait longer if more arrived. Returns true when it switched context. */
export function throttleDue(root: Root, contextId: u32, seq: u32): bool {
  if (throttles.size == 0 || !throttles.has(contextId)) return false;
  const t = throttles.get(contextId);
  if (t.seq != seq || !t.stopped) return false;
  const due = t.dueAt();
  if (due > abi.monoNowMs()) {
    arm(t, contextId, due);
    return false;
  }
  t.stopped = false;
  root.waiting--;
  t.released += t.held;
  t.held = 0;
  if (t.ended) throttles.delete(contextId);
  if (abi.setEffectiveContext(contextId) != WasmResult.Ok) {
    throttles.delete(contextId);
    return false;
  }
  abi.continueResponse();
  return true;
}
