// Root context state (one per plugin instance): configuration, identity, the
// applied snapshot, config-stream/backoff state and the timer queue of
// waiting requests; and the one tick timer that serves both.

import * as abi from "./abi";
import { Snapshot } from "./rules";
import { TimerQueue } from "./timers";
import { PluginConfig, Identity } from "./config";
import * as rng from "./rng";

export const BACKOFF_START_MS: i32 = 500;
const MAX_TICK_MS: i64 = 3600000;

const EMPTY_SNAPSHOT = new Snapshot();

export class Root {
  id: u32;
  config: PluginConfig = new PluginConfig();
  identity: Identity = new Identity();
  configured: bool = false;
  snapshot: Snapshot = EMPTY_SNAPSHOT;
  hasExpiringRules: bool = false;
  clockOffsetMs: i64 = 0; // server wall clock - local wall clock
  grpcToken: u32 = 0;
  backoffMs: i32 = BACKOFF_START_MS;
  reconnectAtMs: i64 = -1;
  /** A stream was opened once (later opens count as reconnects). */
  opened: bool = false;
  failures: i32 = 0;
  /** An HTTP stream was seen (Envoy's main-thread VM never sees one): reported to the control plane. */
  serving: bool = false;
  shuttingDown: bool = false;
  timers: TimerQueue = new TimerQueue();
  waiting: i32 = 0;
  tickPeriod: u32 = 0;
  constructor(id: u32) {
    this.id = id;
  }
}

export const roots = new Map<u32, Root>();
let seeded = false;

export function rootOf(id: u32): Root {
  if (roots.has(id)) return roots.get(id);
  const r = new Root(id);
  roots.set(id, r);
  return r;
}

/** Seeds the PRNG once per VM (not in _initialize: no host calls there). */
export function ensureSeeded(): void {
  if (seeded) return;
  seeded = true;
  const buf = memory.data(16);
  if (abi.randomBytes(buf, 16)) rng.seedFrom(buf);
  rng.mixIn(<u64>abi.monoNowMs() ^ (<u64>abi.wallNowMs() << 20));
}

/** Arms the tick timer for the earliest of: a waiting request, the reconnect (0 = off). */
export function reschedule(root: Root): void {
  if (root.waiting <= 0 && root.timers.size > 0) { root.timers.clear(); root.waiting = 0; }
  let next = root.timers.peekDeadline();
  if (root.reconnectAtMs >= 0 && root.reconnectAtMs < next) next = root.reconnectAtMs;
  let period: u32 = 0;
  if (next != i64.MAX_VALUE) {
    let d = next - abi.monoNowMs();
    if (d < 1) d = 1;
    if (d > MAX_TICK_MS) d = MAX_TICK_MS;
    period = <u32>d;
  }
  if (period != root.tickPeriod) {
    root.tickPeriod = period;
    abi.setTickPeriod(period);
  }
}
