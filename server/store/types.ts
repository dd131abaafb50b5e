// The store contract both backends (etcd, embedded) implement and the same
// test suite checks (test/server/store-contract.test.ts).
import type { IdentityOut, PolicyOut } from "../../proto/loader.ts";
import type { PauseChange, PauseState } from "../pause/state.ts";
import type { FaultSeries } from "../faults/ledger.ts";

/** A policy as stored: normalised and validated, metadata filled by the store. */
export interface StoredPolicy {
  /** metadata.version === revision of the last write; created/updated/expires stamped. */
  policy: PolicyOut;
  /** Same as policy.metadata.version: the store revision of the last write. */
  version: number;
}

export interface PutOptions {
  /** Compare-and-swap: fail with StoreError("conflict") unless the stored version equals this. */
  expectedVersion?: number;
  /** Fail with StoreError("already_exists") when the name exists. */
  createOnly?: boolean;
  /** Delete the policy this many seconds after the write (etcd lease / embedded timer). */
  ttlSeconds?: number;
  /**
   * Fail with StoreError("quota") when the store would hold more than this
   * many bytes after the write (StoreUsage.bytes, the replaced value not counted).
   */
  maxTotalBytes?: number;
}

export interface DeleteOptions {
  expectedVersion?: number;
}

/** What put() returns: the stored policy, and whether the name had no value before the write. */
export interface PutResult extends StoredPolicy {
  created: boolean;
}

/**
 * A value stored under a policy name that does not parse or validate (e.g.
 * written by etcdctl, or a hand-edited data file). Never served as a policy
 * or pushed; listed so it can be seen and deleted.
 */
export interface InvalidEntry {
  name: string;
  /** Store revision of the write. */
  version: number;
  /** Why it does not validate ("field.path: reason; ..."). */
  error: string;
  /** Size of the stored value in bytes. */
  bytes: number;
}

/** One page of the store, in name order: the names after `after`, up to `limit` entries (valid or not). */
export interface ListPageOptions {
  /** Start after this name; empty/absent: from the first name. */
  after?: string;
  /** Entries (valid and invalid) at most; the store may return fewer. */
  limit: number;
}

export interface ListPage {
  policies: StoredPolicy[];
  invalid: InvalidEntry[];
  /** Revision the page was read at. */
  revision: number;
  /** Set when entries follow: the name of the last entry of this page (the next page's `after`). */
  next?: string;
}

/** How much the store holds (for the total size limit). */
export interface StoreUsage {
  /** Entries, valid or not. */
  entries: number;
  /** Sum of the stored values' sizes (UTF-8 JSON, as kept in etcd or the data file). */
  bytes: number;
}

/** Delete result; `invalid` is set when the deleted value was an invalid entry (then `previous` has only metadata). */
export interface DeleteResult {
  previous: StoredPolicy;
  revision: number;
  invalid?: InvalidEntry;
}
/** "quota": the write would take the store past its total size limit. */
export type StoreErrorCode = "conflict" | "already_exists" | "not_found" | "unavailable" | "quota";

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export type StoreEvent =
  | { type: "put"; name: string; policy: StoredPolicy; revision: number; bytes?: number }
  | { type: "delete"; name: string; revision: number; reason: "deleted" | "expired" }
  /** A value in the store that does not parse or validate (e.g. written by etcdctl). Never pushed. */
  | { type: "invalid"; name: string; revision: number; error: string; bytes?: number }
  /**
   * The watch could not resume (etcd compaction): here is the complete current
   * state at `revision`. Consumers replace everything they hold.
   */
  | { type: "reset"; policies: StoredPolicy[]; revision: number };

export interface Watch {
  close(): void;
}

export interface PolicyStore {
  readonly kind: "etcd" | "embedded";
  /**
   * Every valid policy, sorted by name, and the revision they were read at
   * (one consistent snapshot, read in pages). Invalid values are skipped (and logged).
   */
  list(): Promise<{ policies: StoredPolicy[]; revision: number }>;
  /** One page in name order, invalid entries included (pages of one listing may come from different revisions). */
  listPage(opts: ListPageOptions): Promise<ListPage>;
  /** Every invalid entry, sorted by name. */
  listInvalid(): Promise<InvalidEntry[]>;
  /** Entries and bytes held (etcd: as of this replica's latest watch event). */
  usage(): Promise<StoreUsage>;
  get(name: string): Promise<StoredPolicy | undefined>;
  /**
   * Write a policy (already validated and normalised by policy/). The
   * store stamps metadata (version, created/updated/expires times). Without
   * expectedVersion/createOnly it never fails for a concurrent write: the
   * last write wins (by revision).
   */
  put(policy: PolicyOut, opts?: PutOptions): Promise<PutResult>;
  /**
   * Removes a policy or an invalid entry. Throws StoreError("not_found") when
   * absent. Returns what was deleted. Without expectedVersion it never fails
   * for a concurrent write.
   */
  delete(name: string, opts?: DeleteOptions): Promise<DeleteResult>;
  /**
   * Events after `fromRevision`, in revision order, none lost or repeated,
   * across reconnects; after compaction a "reset". onEvent is called serially.
   */
  watch(fromRevision: number, onEvent: (e: StoreEvent) => void): Watch;
  /** The pause switch (server/pause/state.ts). */
  getPause(): Promise<PauseState>;
  /** Read-modify-write of the pause switch (atomic against concurrent changes); returns the new state. */
  changePause(change: PauseChange): Promise<PauseState>;
  /**
   * The pause state now (soon after the call) and after every change; after
   * a reconnect the current state again (consumers compare).
   */
  watchPause(onState: (s: PauseState) => void): Watch;
  /** Resolves when the store answers; rejects with the reason otherwise (drives /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One connected proxy as published by the replica its config stream is on
 * (GetPolicyStatus merges the records of every replica).
 */
export interface ProxyRecord {
  /** Replica id of the publisher. */
  replica: string;
  /** Key of the record within its replica: the stream id (a proxy_id may be empty or repeat). */
  stream: string;
  identity: IdentityOut;
  sentVersion: string;
  ackedVersion: string;
  nackedVersion: string;
  nackError: string;
  /** [policy name, policy version] of the snapshot last sent / ACKed / NACKed, in evaluation order. */
  sent: [string, number][];
  acked: [string, number][];
  nacked: [string, number][];
  connectedAtUnixMs: number;
  /** Wall clock of the last ACK this replica accepted on the stream (0: none). */
  ackedAtUnixMs?: number;
  /** The VM has handled no HTTP request (Envoy's main-thread VM, or a worker without traffic yet). */
  idle?: boolean;
}

/** Streams of one identity group in a replica's status summary. */
export interface GroupSummary {
  /** direction: of the group's filter instances (absent = inbound; summaries split a group by direction). */
  identity: Pick<IdentityOut, "service" | "namespace" | "labels" | "direction">;
  streams: number;
  /** [policy name, policy version, streams that ACKed a snapshot holding it, latest ACK wall clock ms]. */
  acked: [string, number, number, number][];
  /** [policy name, policy version, streams that NACKed a snapshot holding it]. */
  nacked: [string, number, number][];
}

/**
 * One replica's status as published on the board: counts per identity group
 * and policy version, plus a bounded list of proxies that have not ACKed
 * their group's current snapshot (NACKers first) with their reasons.
 */
export interface StatusSummary {
  replica: string;
  streams: number;
  groups: GroupSummary[];
  laggards: ProxyRecord[];
  /** Laggards beyond the bound (counted, not listed). */
  laggardsOmitted: number;
  /** The replica's fault counts (absent from older servers). */
  faults?: FaultSeries[];
}

/**
 * Optional store capability: a shared board where every replica publishes
 * one status summary, so each can report convergence across all. A
 * replica's summary vanishes by itself some seconds after it dies (etcd: a
 * lease per replica).
 */
export interface ProxyStatusBoard {
  /** Replaces this replica's summary (one write). Rejects with StoreError("unavailable"). */
  publish(summary: StatusSummary): Promise<void>;
  /** The summaries of every replica (one consistent read). */
  list(): Promise<StatusSummary[]>;
  /** Stops keeping the summary alive and removes it (best effort). */
  close(): Promise<void>;
}

export interface ProxyStatusBoardOptions {
  replicaId: string;
  /** The summary of a replica that stopped renewing it disappears after about this long (default 15). */
  ttlSeconds?: number;
  /** The board lost this replica's summary (lease expired): publish it again. */
  onLost?: () => void;
}

/** A store that can hold a proxy status board (etcd). The embedded store is single-replica by construction. */
export interface ProxyStatusBoardProvider {
  openStatusBoard(opts: ProxyStatusBoardOptions): ProxyStatusBoard;
}

export function hasStatusBoard(store: PolicyStore): store is PolicyStore & ProxyStatusBoardProvider {
  return typeof (store as Partial<ProxyStatusBoardProvider>).openStatusBoard === "function";
}
