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
  /** The framed ConfigSnapshot; dropped once a newer record replaced this one in its group. */
  frame: Buffer | undefined;
  builtAtMs: number;
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

export class IdentityGroup {
  readonly streams = new Set<ConfigStream>();
  readonly members = new Map<string, PolicyEntry>();
  current!: SnapshotRecord;
  /** The concatenated policy elements of `current` (kept to re-frame for late joiners). */
  private policyBytes = Buffer.alloc(0);

  constructor(
    readonly key: string,
    readonly identity: IdentityOut,
    private readonly nextNonce: () => string,
    private readonly pause: () => PauseState,
  ) {}

  matches(p: PolicyOut): boolean {
    return policyMatches(p, this.identity);
  }

  /** Rebuilds the record from members; returns true when the version changed. */
  rebuild(): boolean {
    const entries = [...this.members.values()].sort((a, b) => comparePolicies(a.stored.policy, b.stored.policy));
    const pause = this.pause();
    const ns = this.identity.namespace ?? "";
    const bytes = Buffer.concat(entries.map((e) => entryBytes(e, isPaused(pause, e.stored.policy.metadata!.name, ns))));
    const version = crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    if (this.current?.version === version) return false;
    this.policyBytes = bytes;
    this.replace(version, new Map(entries.map((e) => [e.stored.policy.metadata!.name, e.stored.version])));
    return true;
  }

  /** The record a newly connected stream gets: `current`, re-framed when its server time is stale. */
  forNewStream(now = Date.now()): SnapshotRecord {
    if (now - this.current.builtAtMs > FRAME_FRESH_MS) this.replace(this.current.version, this.current.policies, now);
    return this.current;
  }

  private replace(version: string, policies: Map<string, number>, now = Date.now()): void {
    if (this.current) this.current.frame = undefined;
    const nonce = this.nextNonce();
    this.current = { version, nonce, policies, frame: encodeSnapshotFrame(version, nonce, this.policyBytes, now), builtAtMs: now };
  }
}
