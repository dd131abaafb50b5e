// Identity groups: streams with the same (service, namespace, labels) get the
// same snapshot, so selection, encoding and framing run once per group and
// version, not once per stream.
import crypto from "node:crypto";
import type { IdentityOut, PolicyOut } from "../../proto/loader.ts";
import type { StoredPolicy } from "../store/types.ts";
import { comparePolicies, policyMatches } from "../selector.ts";
import { encodeSnapshotFrame, encodeSnapshotPolicy, snapshotPolicyOf } from "./snapshot.ts";
import { isPaused, type PauseState } from "../pause/state.ts";
import type { ConfigStream } from "./streams.ts";

/** A frame older than this is rebuilt (new nonce, fresh server time) before it goes to a new stream. */
export const FRAME_FRESH_MS = 1000;

/** One snapshot as sent: content version, the nonce it went out with, and its frame. */
export interface SnapshotRecord {
  version: string;
  nonce: string;
  /** Policy name → policy version, in evaluation order. */
  policies: Map<string, number>;
  /** The framed ConfigSnapshot; dropped once no group has this record as its current one. */
  frame: Buffer | undefined;
  builtAtMs: number;
  /** Groups whose `current` this record is (SharedRecords). */
  holders: number;
}

export interface PolicyEntry {
  stored: StoredPolicy;
  /** Encoded `policies` element (field 3) of ConfigSnapshot. */
  bytes: Buffer;
  /** The same with `paused: true` (encoded on first use). */
  pausedBytes?: Buffer;
}

function entryBytes(e: PolicyEntry, paused: boolean): Buffer {
  if (!paused) return e.bytes;
  return (e.pausedBytes ??= encodeSnapshotPolicy({ ...snapshotPolicyOf(e.stored.policy), paused: true }));
}

/**
 * Records by version, shared by every group whose snapshot has the same
 * content: a change that reaches many groups builds one frame, not one per
 * group (a frame is the whole policy set; per-group copies of large sets were
 * most of the memory a burst of applies churned through). The nonce is then
 * per record, not per group, which is all an ACK needs to name what it acks.
 * A record is shared only within the change that built it: a group rebuilds
 * once per change, so no stream is ever sent the same nonce twice (a group
 * going A → B → A gets a new record for A, not its old one back).
 */
export class SharedRecords {
  private readonly byVersion = new Map<string, SnapshotRecord & { change: number }>();
  private change = 0;

  constructor(private readonly nextNonce: () => string) {}

  /** A new change (view change or pause switch) starts: records built before it are not shared again. */
  nextChange(): void {
    this.change++;
  }

  /** The record of `version` (one another group got in this change, else a new one framed from `parts`). */
  acquire(version: string, parts: readonly Buffer[], policies: () => Map<string, number>, now: number): SnapshotRecord {
    const held = this.byVersion.get(version);
    if (held?.frame && held.change === this.change && now - held.builtAtMs <= FRAME_FRESH_MS) {
      held.holders++;
      return held;
    }
    const nonce = this.nextNonce();
    const frame = encodeSnapshotFrame(version, nonce, parts, now);
    const r = { version, nonce, policies: policies(), frame, builtAtMs: now, holders: 1, change: this.change };
    this.byVersion.set(version, r);
    return r;
  }

  /** A group no longer has `r` as its current record; the last one out drops the frame. */
  release(r: SnapshotRecord): void {
    if (--r.holders > 0) return;
    r.frame = undefined;
    if (this.byVersion.get(r.version) === r) this.byVersion.delete(r.version);
  }

  /** Versions with a live frame (tests). */
  get size(): number {
    return this.byVersion.size;
  }
}

export class IdentityGroup {
  readonly streams = new Set<ConfigStream>();
  readonly members = new Map<string, PolicyEntry>();
  current!: SnapshotRecord;
  /** The policy elements of `current`, in order (the entries' own buffers; kept to re-frame for late joiners). */
  private parts: Buffer[] = [];

  constructor(
    readonly key: string,
    readonly identity: IdentityOut,
    private readonly records: SharedRecords,
    private readonly pause: () => PauseState,
  ) {}

  matches(p: PolicyOut): boolean {
    return policyMatches(p, this.identity);
  }

  /** Rebuilds the record from members; returns true when the version changed. */
  rebuild(now = Date.now()): boolean {
    const entries = [...this.members.values()].sort((a, b) => comparePolicies(a.stored.policy, b.stored.policy));
    const pause = this.pause();
    const ns = this.identity.namespace ?? "";
    const parts = entries.map((e) => entryBytes(e, isPaused(pause, e.stored.policy.metadata!.name, ns)));
    // The digest of the elements as they go on the wire, hashed in place (no concatenated copy).
    const hash = crypto.createHash("sha256");
    for (const p of parts) hash.update(p);
    const version = hash.digest("hex").slice(0, 16);
    if (this.current?.version === version) return false;
    this.parts = parts;
    this.replace(version, () => new Map(entries.map((e) => [e.stored.policy.metadata!.name, e.stored.version])), now);
    return true;
  }

  /** The record a newly connected stream gets: `current`, re-framed when its server time is stale. */
  forNewStream(now = Date.now()): SnapshotRecord {
    if (now - this.current.builtAtMs > FRAME_FRESH_MS) {
      const policies = this.current.policies;
      this.replace(this.current.version, () => policies, now);
    }
    return this.current;
  }

  private replace(version: string, policies: () => Map<string, number>, now: number): void {
    const next = this.records.acquire(version, this.parts, policies, now);
    if (this.current) this.records.release(this.current);
    this.current = next;
  }

  /** The group is gone (its last stream closed). */
  dispose(): void {
    if (this.current) this.records.release(this.current);
  }
}
