// The config distribution core: per-identity snapshots pushed to filter
// streams whenever the identity's policy set changes.
//
// Streams are grouped by identity key (service, namespace, labels): selection
// and encoding run once per group per change, and every stream of the group
// gets the same pre-encoded policy bytes (only version, nonce and time are
// added per write).
import crypto from "node:crypto";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { IdentityOut, PolicyOut } from "../proto/loader.ts";
import type { StoredPolicy } from "./store/types.ts";
import type { Metrics } from "./metrics.ts";
import type { PolicyView, ViewChange } from "./view.ts";
import { comparePolicies, identityKey, policyMatches } from "./selector.ts";
import { encodeSnapshot, encodeSnapshotPolicy, encodeVersionField, snapshotPolicyOf } from "./wire.ts";

/** One distinct snapshot content for one identity group. */
export interface SnapshotRecord {
  version: string;
  /** Policy name → policy version, in evaluation order. */
  policies: Map<string, number>;
  /** Encoded `policies` field (3) of ConfigSnapshot. */
  bytes: Buffer;
  /** Encoded `version` field (1). */
  versionField: Buffer;
}

/** Where a stream's snapshots go (the gRPC call, or a fake in unit tests). */
export interface StreamSink {
  /** false: the transport is backed up; further writes wait for "drain". */
  write(bytes: Buffer): boolean;
  readonly writableNeedDrain: boolean;
  once(event: "drain", fn: () => void): unknown;
}

export class ConfigStream {
  sent: SnapshotRecord | undefined;
  sentNonce = "";
  acked: SnapshotRecord | undefined;
  ackedNonce = "";
  /** Wall clock (ms) at which the ACK of `acked` arrived; 0 before any ACK. */
  ackedAtUnixMs = 0;
  nacked: { record: SnapshotRecord | undefined; version: string; nonce: string; error: string } | undefined;
  /** Recent pushes by nonce, to resolve ACK/NACKs. */
  readonly pushes = new Map<string, SnapshotRecord>();
  /** Latest snapshot not written yet because the transport is backed up. */
  private held: SnapshotRecord | undefined;
  private heldOrigin: number | undefined;
  group!: IdentityGroup;

  constructor(
    readonly id: number,
    readonly identity: IdentityOut,
    readonly connectedAtUnixMs: number,
    private readonly sink: StreamSink,
    private readonly hub: ConfigStreams,
  ) {}

  /** Writes `record` now, or once the transport drains (only the latest is kept). */
  push(record: SnapshotRecord, origin: number | undefined): void {
    if (this.sink.writableNeedDrain) {
      if (!this.held) this.sink.once("drain", () => this.flushHeld());
      this.held = record;
      this.heldOrigin = origin;
      return;
    }
    this.writeNow(record, origin);
  }

  private flushHeld(): void {
    const r = this.held;
    if (!r) return;
    this.held = undefined;
    if (r !== this.sent) this.push(r, this.heldOrigin);
  }

  private writeNow(record: SnapshotRecord, origin: number | undefined): void {
    const nonce = this.hub.nextNonce();
    this.sent = record;
    this.sentNonce = nonce;
    this.pushes.set(nonce, record);
    if (this.pushes.size > 16) this.pushes.delete(this.pushes.keys().next().value!);
    this.sink.write(encodeSnapshot(record.versionField, nonce, record.bytes, Date.now()));
    this.hub.onPushed(origin);
    this.hub.emit("sent", this);
  }

  ack(version: string, nonce: string): void {
    const record = this.pushes.get(nonce);
    if (!record || record.version !== version) return; // stale or unknown nonce: ignored, as in xDS
    this.acked = record;
    this.ackedNonce = nonce;
    this.ackedAtUnixMs = Date.now();
    if (this.nacked?.record === record) this.nacked = undefined;
    this.hub.emit("ack", this, record);
  }

  nack(version: string, nonce: string, error: string): void {
    const record = this.pushes.get(nonce);
    this.nacked = { record, version, nonce, error };
    this.hub.emit("nack", this, error);
  }
}

interface PolicyEntry {
  stored: StoredPolicy;
  bytes: Buffer;
}

export class IdentityGroup {
  readonly streams = new Set<ConfigStream>();
  readonly members = new Map<string, PolicyEntry>();
  current!: SnapshotRecord;
  constructor(
    readonly key: string,
    readonly identity: IdentityOut,
  ) {}

  matches(p: PolicyOut): boolean {
    return policyMatches(p, this.identity);
  }

  /** Rebuilds the record from members; returns true when the version changed. */
  rebuild(): boolean {
    const entries = [...this.members.values()].sort((a, b) => comparePolicies(a.stored.policy, b.stored.policy));
    const bytes = Buffer.concat(entries.map((e) => e.bytes));
    const version = crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    if (this.current?.version === version) return false;
    this.current = {
      version,
      policies: new Map(entries.map((e) => [e.stored.policy.metadata!.name, e.stored.version])),
      bytes,
      versionField: encodeVersionField(version),
    };
    return true;
  }
}

export interface ConfigStreamsOptions {
  view: PolicyView;
  logger: Logger;
  metrics: Metrics;
}

/** Every open config stream of this replica, grouped by identity. */
export class ConfigStreams extends EventEmitter<{
  ack: [ConfigStream, SnapshotRecord];
  nack: [ConfigStream, string];
  push: [IdentityGroup];
  /** Stream lifecycle and each snapshot written (the proxy status board follows these). */
  added: [ConfigStream];
  sent: [ConfigStream];
  removed: [ConfigStream];
}> {
  readonly groups = new Map<string, IdentityGroup>();
  private readonly entries = new Map<string, PolicyEntry>();
  private nextId = 1;
  private nonceCounter = 0;
  private readonly noncePrefix = crypto.randomBytes(4).toString("hex");
  /** Local writes in flight: policy name → performance.now() at the write. */
  private readonly writeStarts = new Map<string, number>();
  private readonly onChange = (c: ViewChange) => this.apply(c);

  constructor(private readonly opts: ConfigStreamsOptions) {
    super();
    this.setMaxListeners(0);
    for (const p of opts.view.policies.values()) this.entry(p);
    opts.view.on("change", this.onChange);
    opts.metrics.streamsByVersion = () => this.countByVersion();
  }

  nextNonce(): string {
    return `${this.noncePrefix}-${(++this.nonceCounter).toString(36)}`;
  }

  /** Called by ApplyPolicy/DeletePolicy before the store write, for hfi_apply_to_push_seconds. */
  noteWriteStart(name: string): void {
    this.writeStarts.set(name, performance.now());
  }

  noteWriteFailed(name: string): void {
    this.writeStarts.delete(name);
  }

  /** origin undefined: the initial push of a new stream (not a change; not timed). */
  onPushed(origin: number | undefined): void {
    this.opts.metrics.pushes.inc();
    if (origin !== undefined) this.opts.metrics.applyToPush.observe((performance.now() - origin) / 1000);
  }

  private entry(stored: StoredPolicy): PolicyEntry {
    const name = stored.policy.metadata!.name;
    const cached = this.entries.get(name);
    if (cached && cached.stored === stored) return cached;
    const e = { stored, bytes: encodeSnapshotPolicy(snapshotPolicyOf(stored.policy)) };
    this.entries.set(name, e);
    return e;
  }

  get streamCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.streams.size;
    return n;
  }

  *streams(): Iterable<ConfigStream> {
    for (const g of this.groups.values()) yield* g.streams;
  }

  /** Registers a subscribed stream and sends it the current snapshot. */
  add(identity: IdentityOut, sink: StreamSink): ConfigStream {
    const key = identityKey(identity);
    let group = this.groups.get(key);
    if (!group) {
      group = new IdentityGroup(key, identity);
      for (const p of this.opts.view.policies.values()) {
        if (group.matches(p.policy)) group.members.set(p.policy.metadata!.name, this.entry(p));
      }
      group.rebuild();
      this.groups.set(key, group);
    }
    const stream = new ConfigStream(this.nextId++, identity, Date.now(), sink, this);
    stream.group = group;
    group.streams.add(stream);
    this.emit("added", stream);
    stream.push(group.current, undefined);
    return stream;
  }

  remove(stream: ConfigStream): void {
    const g = stream.group;
    if (!g.streams.delete(stream)) return;
    if (g.streams.size === 0) this.groups.delete(g.key);
    this.emit("removed", stream);
  }

  /** A view change: recompute each group it can affect; push where the version moved. */
  private apply(change: ViewChange): void {
    let origin = change.receivedAt;
    const touched: string[] = [];
    for (const p of change.put) {
      const name = p.policy.metadata!.name;
      touched.push(name);
      this.entry(p);
    }
    for (const d of change.deleted) {
      const name = d.previous.policy.metadata!.name;
      touched.push(name);
      this.entries.delete(name);
    }
    for (const name of touched) {
      const t = this.writeStarts.get(name);
      if (t !== undefined) {
        origin = Math.min(origin, t);
        this.writeStarts.delete(name);
      }
    }
    for (const group of this.groups.values()) {
      let dirty = false;
      for (const d of change.deleted) {
        if (group.members.delete(d.previous.policy.metadata!.name)) dirty = true;
      }
      for (const p of change.put) {
        const name = p.policy.metadata!.name;
        if (group.matches(p.policy)) {
          group.members.set(name, this.entries.get(name)!);
          dirty = true;
        } else if (group.members.delete(name)) dirty = true;
      }
      if (!dirty || !group.rebuild()) continue;
      for (const s of group.streams) s.push(group.current, origin);
      this.emit("push", group);
    }
  }

  private countByVersion(): Map<string, number> {
    const m = new Map<string, number>();
    for (const s of this.streams()) {
      const v = s.sent?.version ?? "";
      m.set(v, (m.get(v) ?? 0) + 1);
    }
    return m;
  }

  close(): void {
    this.opts.view.off("change", this.onChange);
  }
}
