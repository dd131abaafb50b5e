// Per-policy fault counts of one root context (one config stream), reported
// to the control plane as FaultReport messages on the config stream. The
// request path only increments fields of the rule's RuleCounts (and, on the
// first change after a report, arms the tick); encoding and sending happen in
// proxy_on_tick, at most once per report interval, only when something changed.

import { ByteWriter, eqBytes, ptrOf } from "./bytes";

/** Rules counted per root at most; rules beyond are not counted (memory bound). */
export const MAX_COUNTED_RULES: i32 = 2048;
/** FaultCount entries per report at most (bounded message size: ~100 bytes each). */
export const MAX_COUNTS_PER_REPORT: i32 = 128;
export const DEFAULT_REPORT_INTERVAL_MS: i32 = 5000;

export class RuleCounts {
  policy: ArrayBuffer;
  rule: u32;
  status: u32;
  live: bool = true;
  dirty: bool = false;
  matched: u64 = 0;
  aborted: u64 = 0;
  delayed: u64 = 0;
  delayMs: u64 = 0;
  skippedPct: u64 = 0;
  skippedMax: u64 = 0;
  // As of the last report sent.
  pMatched: u64 = 0;
  pAborted: u64 = 0;
  pDelayed: u64 = 0;
  pDelayMs: u64 = 0;
  pSkippedPct: u64 = 0;
  pSkippedMax: u64 = 0;

  constructor(policy: ArrayBuffer, rule: u32, status: u32) {
    this.policy = policy;
    this.rule = rule;
    this.status = status;
  }
}

export class FaultCounters {
  entries: RuleCounts[] = [];
  /** Something changed since the last report (set by the request path). */
  dirty: bool = false;
  seq: u32 = 0;
  lastReportMs: i64 = -1;

  /** The counts for (policy, rule, status), created when new; null past MAX_COUNTED_RULES. */
  attach(policy: ArrayBuffer, rule: u32, status: u32): RuleCounts | null {
    for (let i = 0; i < this.entries.length; i++) {
      const e = unchecked(this.entries[i]);
      if (e.rule == rule && e.status == status && eqBytes(ptrOf(e.policy), e.policy.byteLength, ptrOf(policy), policy.byteLength)) {
        e.live = true;
        return e;
      }
    }
    if (this.entries.length >= MAX_COUNTED_RULES) return null;
    const e = new RuleCounts(policy, rule, status);
    this.entries.push(e);
    return e;
  }

  /** Before attaching a new snapshot's rules: everything is not live until attached again. */
  unmarkAll(): void {
    for (let i = 0; i < this.entries.length; i++) unchecked(this.entries[i]).live = false;
  }

  /** Drops counts of rules gone from the snapshot once their last change was reported. */
  prune(): void {
    const kept: RuleCounts[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      const e = unchecked(this.entries[i]);
      if (e.live || e.dirty) kept.push(e);
    }
    this.entries = kept;
  }

  /** A FaultReport-carrying StreamConfigRequest, or null when nothing changed. Marks what it holds as sent. */
  encodeReport(): ArrayBuffer | null {
    if (!this.dirty) return null;
    const report = new ByteWriter(256);
    let n = 0;
    let more = false;
    for (let i = 0; i < this.entries.length; i++) {
      const e = unchecked(this.entries[i]);
      if (!e.dirty) continue;
      if (n >= MAX_COUNTS_PER_REPORT) { more = true; break; }
      const c = new ByteWriter(96);
      c.fieldBytes(1, e.policy);
      varintField(c, 2, <u64>e.rule);
      varintField(c, 3, <u64>e.status);
      const t = new ByteWriter(48);
      totals(t, e.matched, e.aborted, e.delayed, e.delayMs, e.skippedPct, e.skippedMax);
      c.fieldBytes(4, t.finish());
      const p = new ByteWriter(48);
      totals(p, e.pMatched, e.pAborted, e.pDelayed, e.pDelayMs, e.pSkippedPct, e.pSkippedMax);
      c.fieldBytes(5, p.finish());
      report.fieldBytes(2, c.finish());
      e.pMatched = e.matched; e.pAborted = e.aborted; e.pDelayed = e.delayed;
      e.pDelayMs = e.delayMs; e.pSkippedPct = e.skippedPct; e.pSkippedMax = e.skippedMax;
      e.dirty = false;
      n++;
    }
    this.dirty = more;
    if (n == 0) return null;
    this.seq++;
    const body = new ByteWriter(report.len + 8);
    varintField(body, 1, <u64>this.seq);
    body.bytes(report.finish());
    const req = new ByteWriter(body.len + 8);
    req.fieldBytes(30, body.finish());
    return req.finish();
  }
}

function varintField(w: ByteWriter, field: u32, v: u64): void {
  if (v == 0) return;
  w.varint(<u64>(field << 3));
  w.varint(v);
}

function totals(w: ByteWriter, matched: u64, aborted: u64, delayed: u64, delayMs: u64, pct: u64, max: u64): void {
  varintField(w, 1, matched);
  varintField(w, 2, aborted);
  varintField(w, 3, delayed);
  varintField(w, 4, delayMs);
  varintField(w, 5, pct);
  varintField(w, 6, max);
}
