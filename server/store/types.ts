// The store contract both backends (etcd, embedded) implement and the same
// test suite checks (test/server/store-contract.test.ts).
import type { IdentityOut, PolicyOut } from "../../proto/loader.ts";

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
}

export interface DeleteOptions {
  expectedVersion?: number;
}

export type StoreErrorCode = "conflict" | "already_exists" | "not_found" | "unavailable";

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
  | { type: "put"; name: string; policy: StoredPolicy; revision: number }
  | { type: "delete"; name: string; revision: number; reason: "deleted" | "expired" }
  /** A value in the store that does not parse or validate (e.g. written by etcdctl). Never pushed. */
  | { type: "invalid"; name: string; revision: number; error: string }
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
  /** Every valid policy, sorted by name, and the revision they were read at. Invalid values are skipped (and logged). */
  list(): Promise<{ policies: StoredPolicy[]; revision: number }>;
  get(name: string): Promise<StoredPolicy | undefined>;
  /**
   * Write a policy (already validated and normalised by server/policy). The
   * store stamps metadata (version, created/updated/expires times).
   */
  put(policy: PolicyOut, opts?: PutOptions): Promise<StoredPolicy>;
  /** Throws StoreError("not_found") when absent. Returns what was deleted. */
  delete(name: string, opts?: DeleteOptions): Promise<{ previous: StoredPolicy; revision: number }>;
  /**
   * Events after `fromRevision`, in revision order, none lost or repeated,
   * across reconnects; after compaction a "reset". onEvent is called serially.
   */
  watch(fromRevision: number, onEvent: (e: StoreEvent) => void): Watch;
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
  /** Wall clock (ms) at which the replica received the ACK of the snapshot in `acked`; absent before any ACK. */
  ackedAtUnixMs?: number;
}

/**
 * Optional store capability: a shared board of proxy records, so every
 * replica can report the proxies of all replicas. A replica's records vanish
 * by themselves some seconds after it dies (etcd: one lease per replica).
 */
export interface ProxyStatusBoard {
  /**
   * Writes `puts` and deletes the records of `deletes` (stream keys) of this
   * replica. Several transactions when large; a failure may leave a prefix
   * applied (publishing again is harmless). Rejects with StoreError("unavailable").
   */
  publish(puts: ProxyRecord[], deletes: string[]): Promise<void>;
  /** The records of every replica (one consistent read). */
  list(): Promise<ProxyRecord[]>;
  /** Stops keeping the records alive and removes them (best effort). */
  close(): Promise<void>;
}

export interface ProxyStatusBoardOptions {
  replicaId: string;
  /** Records of a replica that stopped renewing them disappear after about this long (default 15). */
  ttlSeconds?: number;
  /** The board lost this replica's records (lease expired): publish everything again. */
  onLost?: () => void;
}

/** A store that can hold a proxy status board (etcd). The embedded store is single-replica by construction. */
export interface ProxyStatusBoardProvider {
  openStatusBoard(opts: ProxyStatusBoardOptions): ProxyStatusBoard;
}

export function hasStatusBoard(store: PolicyStore): store is PolicyStore & ProxyStatusBoardProvider {
  return typeof (store as Partial<ProxyStatusBoardProvider>).openStatusBoard === "function";
}
