// The etcd store. Key <prefix><name>, value = canonical policy JSON (with
// created/updated/expires times; the version is the key's mod_revision).
// Writes are transactions guarded on mod_revision (compare-and-swap, create
// only); time-limited policies carry an etcd lease so expiry happens in etcd
// for every replica and survives restarts. Watches resume from the last
// revision seen across reconnects and hand out a "reset" after compaction.
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ConstantBackoff,
  handleWhen,
  retry,
} from "cockatiel";
import { Etcd3, isRecoverableError, type IKeyValue, type IWatchResponse, type Watcher } from "etcd3";
import { pino, type Logger } from "pino";
import type { PolicyOut } from "../../proto/loader.ts";
import { EtcdStatusBoard } from "./etcd-board.ts";
import { EventSink } from "./sink.ts";
import { parseStoredValue, stampPolicy, storedValue } from "./stamp.ts";
import {
  StoreError,
  type DeleteOptions,
  type PolicyStore,
  type ProxyStatusBoard,
  type ProxyStatusBoardOptions,
  type ProxyStatusBoardProvider,
  type DeleteResult,
  type InvalidEntry,
  type ListPage,
  type ListPageOptions,
  type PutOptions,
  type PutResult,
  type StoreUsage,
  type StoredPolicy,
  type StoreEvent,
  type Watch,
} from "./types.ts";

export const DEFAULT_ETCD_PREFIX = "/hfi/policies/";

/**
 * Where proxy status records live, next to (never inside) the policy prefix:
 * "/x/policies/" → "/x/proxies/"; any other prefix "/p/" → "/p-proxies/".
 */
export function statusPrefixFor(policyPrefix: string): string {
  const p = policyPrefix.endsWith("/") ? policyPrefix : `${policyPrefix}/`;
  const m = /^(.*\/)policies\/$/.exec(p);
  return m ? `${m[1]}proxies/` : `${p.slice(0, -1)}-proxies/`;
}

export interface EtcdStoreOptions {
  endpoints: string[];
  prefix?: string;
  logger?: Logger;
  /** Key prefix of the proxy status board (default: statusPrefixFor(prefix)). */
  statusPrefix?: string;
  /** Deadline of every unary etcd call, ms (default 3000): a dead etcd fails fast. */
  timeoutMs?: number;
  /**
   * How often to delete policies whose expiry passed but whose lease is still
   * alive (etcd renews lease TTLs after a leader change); 0 = never. Default 30000.
   */
  sweepIntervalMs?: number;
}

/** A policy is swept only this long after its expiry (the lease normally wins). */
const SWEEP_GRACE_MS = 2000;

/** A delete event is reported as "expired" when the deleted value's expiry was at most this far ahead. */
const EXPIRY_SLACK_MS = 5000;
/** A page read aims for this many bytes: well under gRPC's 4 MiB message cap. */
const PAGE_TARGET_BYTES = 2 * 1024 * 1024;
/** Entries per page read at most. */
const PAGE_MAX_ENTRIES = 1000;
/** Before any value was seen, pages are sized for values this large (the per-policy limit). */
const ASSUMED_ENTRY_BYTES = 64 * 1024;
const ZERO = Buffer.from([0]);

export class EtcdStore implements PolicyStore, ProxyStatusBoardProvider {
  readonly kind = "etcd" as const;
  private readonly client: Etcd3;
  private readonly prefix: string;
  readonly statusPrefix: string;
  private readonly boards = new Set<ProxyStatusBoard>();
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly watches = new Set<{ close(): void }>();
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** "name@mod_revision" of invalid values already logged (log once, not on every list). */
  private readonly loggedInvalid = new Set<string>();
  /** Largest key+value seen in a range read (sizes the next page). */
  private largestEntry = ASSUMED_ENTRY_BYTES;
  private entryIndex: Promise<EntryIndex> | undefined;

  constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new Error("etcd store: no endpoints");
    // A prefix without a trailing "/" would also cover sibling keys ("/hfi/policies-old/...").
    const prefix = opts.prefix || DEFAULT_ETCD_PREFIX;
    this.prefix = prefix.endsWith("/") ? prefix : `${prefix}/`;
    const sp = opts.statusPrefix || statusPrefixFor(this.prefix);
    this.statusPrefix = sp.endsWith("/") ? sp : `${sp}/`;
    // Overlapping prefixes would make status records look like (invalid) policies, or the reverse.
    if (this.statusPrefix.startsWith(this.prefix) || this.prefix.startsWith(this.statusPrefix))
      throw new Error(`etcd store: status prefix "${this.statusPrefix}" overlaps the policy prefix "${this.prefix}"`);
    this.logger = (opts.logger ?? pino({ level: "info" })).child({ store: "etcd" });
    this.timeoutMs = opts.timeoutMs ?? 3000;
    const timeout = this.timeoutMs;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        // Short breaker and few retries: callers (readiness, apply) want a quick answer.
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: 1000,
            breaker: new ConsecutiveBreaker(3),
          }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 1, backoff: new ConstantBackoff(100) }),
        // Watch reconnects: 100 ms doubling to at most 2 s (the default waits up to 30 s).
        watchBackoff: cappedBackoff(100, 2000),
      },
    });
    const sweep = opts.sweepIntervalMs ?? 30_000;
    if (sweep > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweepExpired().catch((err) => this.logger.debug({ err: (err as Error).message }, "expiry sweep failed"));
      }, sweep);
      this.sweepTimer.unref();
    }
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /** Runs an etcd operation with an overall deadline; failures become StoreError("unavailable"). */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError("unavailable", "store is closed");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreError("unavailable", `etcd: ${what} did not complete within ${this.timeoutMs * 2} ms`)),
        this.timeoutMs * 2,
      );
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError("unavailable", `etcd: ${what} failed: ${(e as Error).message || (e as Error).name}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Parses one kv; logs invalid values (once per revision). */
  private parseKv(kv: IKeyValue): { ok: true; stored: StoredPolicy } | { ok: false; name: string; error: string } {
    const name = kv.key.toString("utf8").slice(this.prefix.length);
    const r = parseStoredValue(name, kv.value.toString("utf8"), Number(kv.mod_revision));
    if (r.ok) return r;
    const id = `${name}@${kv.mod_revision}`;
    if (!this.loggedInvalid.has(id)) {
      this.loggedInvalid.add(id);
      this.logger.error(
        { key: kv.key.toString("utf8"), revision: Number(kv.mod_revision), error: r.error },
        "invalid policy value in etcd: ignored",
      );
    }
    return { ok: false, name, error: r.error };
  }

  /** End of the policy key range (the prefix with its last byte incremented). */
  private get rangeEnd(): Buffer {
    const end = Buffer.from(this.prefix, "utf8");
    end[end.length - 1]! += 1;
    return end;
  }

  /** Entries for the next page: as many as fit PAGE_TARGET_BYTES at the largest value seen so far. */
  private pageLimit(wanted = PAGE_MAX_ENTRIES): number {
    const per = Math.max(this.largestEntry, 1024);
    return Math.max(1, Math.min(wanted, PAGE_MAX_ENTRIES, Math.floor(PAGE_TARGET_BYTES / per)));
  }

  /**
   * One range read of keys from `from` up to the end of the prefix, at
   * `revision` (0: the current one). A response over gRPC's message cap
   * (values larger than seen so far) is retried with half the entries.
   */
  private async rangePage(
    from: Buffer,
    limit: number,
    revision: number,
  ): Promise<{ kvs: IKeyValue[]; more: boolean; revision: number }> {
    for (;;) {
      try {
        const res = await this.call("list", () =>
          this.client.kv.range({ key: from, range_end: this.rangeEnd, limit, revision: revision || undefined }),
        );
        const kvs = res.kvs ?? [];
        for (const kv of kvs) this.largestEntry = Math.max(this.largestEntry, kv.key.length + kv.value.length);
        return { kvs, more: Boolean(res.more), revision: Number(res.header.revision) };
      } catch (e) {
        if (limit > 1 && /RESOURCE_EXHAUSTED|larger than max/i.test((e as Error).message)) {
          limit = Math.max(1, Math.floor(limit / 2));
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Every kv under the prefix as of one revision, read in pages (no response
   * near gRPC's 4 MiB cap, whatever the store holds). A compaction of that
   * revision mid-way starts over at the current one.
   */
  private async readAll(): Promise<{ kvs: IKeyValue[]; revision: number }> {
    for (let attempt = 0; ; attempt++) {
      const kvs: IKeyValue[] = [];
      let revision = 0;
      let from = Buffer.from(this.prefix, "utf8");
      try {
        for (;;) {
          const page = await this.rangePage(from, this.pageLimit(), revision);
          revision ||= page.revision;
          for (const kv of page.kvs) kvs.push(kv);
          const last = page.kvs[page.kvs.length - 1];
          if (!page.more || !last) return { kvs, revision };
          from = Buffer.concat([last.key, ZERO]);
        }
      } catch (e) {
        if (attempt < 3 && /compacted/i.test((e as Error).message)) continue;
        throw e;
      }
    }
  }

  private invalidEntry(kv: IKeyValue, name: string, error: string): InvalidEntry {
    return { name, version: Number(kv.mod_revision), error, bytes: kv.value.length };
  }

  async list(): Promise<{ policies: StoredPolicy[]; revision: number }> {
    const res = await this.readAll();
    const policies: StoredPolicy[] = [];
    for (const kv of res.kvs) {
      const r = this.parseKv(kv);
      if (r.ok) policies.push(r.stored);
    }
    policies.sort((a, b) => cmp(a.policy.metadata!.name, b.policy.metadata!.name));
    return { policies, revision: res.revision };
  }

  async listPage(opts: ListPageOptions): Promise<ListPage> {
    const from = opts.after ? Buffer.concat([Buffer.from(this.key(opts.after), "utf8"), ZERO]) : Buffer.from(this.prefix, "utf8");
    const page = await this.rangePage(from, this.pageLimit(Math.max(1, opts.limit)), 0);
    const out: ListPage = { policies: [], invalid: [], revision: page.revision };
    for (const kv of page.kvs) {
      const r = this.parseKv(kv);
      if (r.ok) out.policies.push(r.stored);
      else out.invalid.push(this.invalidEntry(kv, r.name, r.error));
    }
    const last = page.kvs[page.kvs.length - 1];
    if (page.more && last) out.next = last.key.toString("utf8").slice(this.prefix.length);
    return out;
  }

  async listInvalid(): Promise<InvalidEntry[]> {
    return (await this.index()).invalid();
  }

  async usage(): Promise<StoreUsage> {
    return (await this.index()).usage();
  }

  /** The size/validity index, started on first use and kept current by a watch of its own. */
  private index(): Promise<EntryIndex> {
    if (this.closed) return Promise.reject(new StoreError("unavailable", "store is closed"));
    this.entryIndex ??= EntryIndex.start(this).catch((e) => {
      this.entryIndex = undefined;
      throw e;
    });
    return this.entryIndex;
  }

  /** Every entry (valid or not) with its size, for the index. */
  async scanEntries(): Promise<{ entries: Map<string, IndexEntry>; revision: number }> {
    const res = await this.readAll();
    const entries = new Map<string, IndexEntry>();
    for (const kv of res.kvs) {
      const r = this.parseKv(kv);
      const name = kv.key.toString("utf8").slice(this.prefix.length);
      entries.set(name, { bytes: kv.value.length, version: Number(kv.mod_revision), error: r.ok ? undefined : r.error });
    }
    return { entries, revision: res.revision };
  }

  private async getKv(name: string): Promise<IKeyValue | undefined> {
    const res = await this.call("get", () => this.client.get(this.key(name)).exec());
    return res.kvs[0];
  }

  async get(name: string): Promise<StoredPolicy | undefined> {
    const kv = await this.getKv(name);
    if (!kv) return undefined;
    const r = this.parseKv(kv);
    return r.ok ? r.stored : undefined;
  }

  async put(policy: PolicyOut, opts: PutOptions = {}): Promise<PutResult> {
    const name = policy.metadata?.name ?? "";
    if (!name) throw new Error("policy has no metadata.name (validate with parsePolicyInput first)");
    const key = this.key(name);
    const ttl = opts.ttlSeconds && opts.ttlSeconds > 0 ? Math.ceil(opts.ttlSeconds) : 0;
    // Read for the checks and the creation time; the write itself is guarded
    // only when the caller asked for a guard.
    const cur = await this.getKv(name);
    const curVersion = cur ? Number(cur.mod_revision) : 0;
    if (opts.createOnly && cur) throw new StoreError("already_exists", `policy "${name}" already exists`);
    if (opts.expectedVersion && opts.expectedVersion !== curVersion)
      throw new StoreError("conflict", `policy "${name}" is at version ${curVersion}, not ${opts.expectedVersion}`);
    const now = Date.now();
    const stamped = stampPolicy(policy, {
      version: 0,
      createdAtUnixMs: (cur && createdAtOf(cur)) || now,
      updatedAtUnixMs: now,
      expiresAtUnixMs: ttl ? now + ttl * 1000 : 0,
    });
    const value = JSON.stringify(storedValue(stamped));
    if (opts.maxTotalBytes !== undefined) await this.checkQuota(name, Buffer.byteLength(value), opts.maxTotalBytes);
    // The lease is granted first and attached in the same request as the write.
    const leaseId = ttl
      ? (await this.call("lease grant", () => this.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }))).ID
      : undefined;
    // A put without a lease detaches the key from any lease it had.
    let previous: IKeyValue | undefined;
    let revision: number;
    if (opts.createOnly || opts.expectedVersion) {
      const put = this.client.put(key).value(value);
      if (leaseId !== undefined) put.lease(leaseId);
      const guard = opts.createOnly
        ? this.client.if(key, "Create", "==", 0)
        : this.client.if(key, "Mod", "==", opts.expectedVersion!);
      // On an error the outcome is unknown (the write may have committed), so the
      // new lease is left alone: revoking it could delete a committed policy, and
      // an unused lease just expires.
      const txn = await this.call("write", () => guard.then(put).commit());
      if (!txn.succeeded) {
        if (leaseId !== undefined) await this.revoke(leaseId);
        if (opts.createOnly) throw new StoreError("already_exists", `policy "${name}" already exists`);
        throw new StoreError("conflict", `policy "${name}" was changed concurrently`);
      }
      previous = cur;
      revision = Number(txn.header.revision);
    } else {
      // Last writer wins: one unconditional put, which reports what it replaced.
      const res = await this.call("write", () =>
        this.client.kv.put({ key: Buffer.from(key, "utf8"), value: Buffer.from(value, "utf8"), lease: leaseId, prev_kv: true }),
      );
      previous = res.prev_kv ?? undefined;
      revision = Number(res.header.revision);
    }
    if (previous && previous.lease !== "0" && String(previous.lease) !== String(leaseId)) await this.revoke(String(previous.lease));
    stamped.version = revision;
    stamped.policy.metadata!.version = revision;
    return { ...stamped, created: !previous };
  }

  /** StoreError("quota") when replacing `name` by `bytes` would take the store past `max` bytes. */
  private async checkQuota(name: string, bytes: number, max: number): Promise<void> {
    const idx = await this.index();
    const after = idx.usage().bytes - idx.bytesOf(name) + bytes;
    if (after > max)
      throw new StoreError(
        "quota",
        `policy "${name}": the store would hold ${after} bytes of policies, over its total limit of ${max} bytes; delete policies first`,
      );
  }

  /**
   * Revokes a lease the key no longer uses, unless other keys are still
   * attached (a lease shared by an outside tool). Best effort: an orphaned
   * lease only expires later.
   */
  private async revoke(id: string): Promise<void> {
    try {
      const ttl = await this.call("lease ttl", () => this.client.leaseClient.leaseTimeToLive({ ID: id, keys: true }));
      if ((ttl.keys ?? []).length > 0) return;
      await this.call("lease revoke", () => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (err) {
      this.logger.debug({ err, lease: id }, "lease revoke failed (it will expire by itself)");
    }
  }

  async delete(name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    const key = this.key(name);
    let previous: IKeyValue | undefined;
    let revision: number;
    if (opts.expectedVersion) {
      const cur = await this.getKv(name);
      if (!cur) throw new StoreError("not_found", `policy "${name}" not found`);
      const curVersion = Number(cur.mod_revision);
      if (opts.expectedVersion !== curVersion)
        throw new StoreError("conflict", `policy "${name}" is at version ${curVersion}, not ${opts.expectedVersion}`);
      const txn = await this.call("delete", () =>
        this.client.if(key, "Mod", "==", curVersion).then(this.client.delete().key(key)).commit(),
      );
      if (!txn.succeeded) throw new StoreError("conflict", `policy "${name}" was changed concurrently`);
      previous = cur;
      revision = Number(txn.header.revision);
    } else {
      const res = await this.call("delete", () =>
        this.client.kv.deleteRange({ key: Buffer.from(key, "utf8"), prev_kv: true }),
      );
      previous = res.prev_kvs?.[0];
      revision = Number(res.header.revision);
      if (!previous || Number(res.deleted) === 0) throw new StoreError("not_found", `policy "${name}" not found`);
    }
    if (previous.lease !== "0") await this.revoke(String(previous.lease));
    const r = this.parseKv(previous);
    if (r.ok) return { previous: r.stored, revision };
    const invalid = this.invalidEntry(previous, name, r.error);
    return { previous: placeholder(name, invalid.version), revision, invalid };
  }

  watch(fromRevision: number, onEvent: (e: StoreEvent) => void): Watch {
    const sink = new EventSink(onEvent, this.logger);
    const w = new PrefixWatch(this, sink, fromRevision);
    this.watches.add(w);
    w.start();
    return {
      close: () => {
        this.watches.delete(w);
        w.close();
      },
    };
  }

  /** Internals for PrefixWatch. */
  get internals() {
    return {
      client: this.client,
      prefix: this.prefix,
      logger: this.logger,
      parseKv: (kv: IKeyValue) => this.parseKv(kv),
    };
  }

  /**
   * Backstop for lease expiry: deletes policies whose expires_at passed more
   * than a grace period ago (etcd renews remaining lease TTLs after a leader
   * change, which can postpone the lease's delete by up to one TTL). Each
   * delete is guarded on the mod_revision read, so replicas sweeping at the
   * same time delete once. Returns the names deleted.
   */
  async sweepExpired(now = Date.now()): Promise<string[]> {
    const res = await this.readAll();
    const swept: string[] = [];
    for (const kv of res.kvs) {
      const r = this.parseKv(kv);
      if (!r.ok) continue;
      const at = r.stored.policy.metadata!.expiresAtUnixMs;
      if (at <= 0 || at + SWEEP_GRACE_MS > now) continue;
      const key = kv.key.toString("utf8");
      const txn = await this.call("delete", () =>
        this.client.if(key, "Mod", "==", Number(kv.mod_revision)).then(this.client.delete().key(key)).commit(),
      );
      if (!txn.succeeded) continue; // changed meanwhile (or another replica swept it)
      if (kv.lease !== "0") await this.revoke(kv.lease);
      const name = r.stored.policy.metadata!.name;
      this.logger.info({ policy: name, expiresAtUnixMs: at }, "deleted a policy past its expiry (lease still alive)");
      swept.push(name);
    }
    return swept;
  }

  /** The proxy status board of one replica (closed before the client by close()). */
  openStatusBoard(opts: ProxyStatusBoardOptions): ProxyStatusBoard {
    const board = new EtcdStatusBoard(
      { client: this.client, statusPrefix: this.statusPrefix, logger: this.logger, call: (what, fn) => this.call(what, fn) },
      opts,
    );
    const close = board.close.bind(board);
    board.close = async () => {
      this.boards.delete(board);
      await close();
    };
    this.boards.add(board);
    return board;
  }

  async ping(): Promise<void> {
    await this.call("status", () => this.client.maintenance.status({}));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.all([...this.boards].map((b) => b.close()));
    const idx = this.entryIndex;
    this.entryIndex = undefined;
    idx?.then((i) => i.close(), () => {});
    for (const w of this.watches) w.close();
    this.watches.clear();
    this.closed = true;
    this.client.close();
  }
}

/**
 * One store watch over the prefix. The etcd3 Watcher reconnects by itself
 * and re-subscribes with `request.start_revision`; the library moves that to
 * the *header* revision on every response, which can skip events when a
 * catch-up is cut short, so it is pinned here to the last event processed
 * (re-delivered events of that revision are dropped by key).
 */
class PrefixWatch {
  /** Revision of the last event delivered (or the starting point). */
  private last: number;
  /** Keys already delivered at revision `last` (a transaction can touch several). */
  private keysAtLast = new Set<string>();
  private watcher: Watcher | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private disconnected = false;

  constructor(
    private readonly store: EtcdStore,
    private readonly sink: EventSink,
    fromRevision: number,
  ) {
    this.last = fromRevision;
  }

  start(): void {
    if (this.closed) return;
    const { client, prefix, logger } = this.store.internals;
    const w = client
      .watch()
      .prefix(prefix)
      .withPreviousKV()
      .startRevision(String(this.resumeRevision()))
      .watcher();
    const internal = w as unknown as {
      updateRevision(res: IWatchResponse): void;
      request: { start_revision: string | number; fragment?: boolean };
    };
    // A revision with many changes (a catch-up after a reconnect, a range
    // delete by etcdctl) comes in several responses, each under etcd's
    // request size limit, never one over gRPC's message cap.
    internal.request.fragment = true;
    const pin = () => {
      internal.request.start_revision = String(this.resumeRevision());
    };
    internal.updateRevision = pin;
    w.on("data", (res: IWatchResponse) => {
      this.onData(res);
      pin();
    });
    w.on("connected", (res: IWatchResponse) => {
      const current = Number(res.header?.revision);
      if (this.disconnected) logger.info({ revision: current, from: this.resumeRevision() }, "etcd watch reconnected");
      this.disconnected = false;
      if (current < this.last) void this.checkBehind(w);
    });
    w.on("disconnected", (err: Error) => {
      // Once per outage: the library retries every ≤2 s and reports each failure.
      if (!this.closed && !this.disconnected)
        logger.warn({ err: err?.message, last: this.last }, "etcd watch disconnected; resuming when etcd is back");
      this.disconnected = true;
    });
    w.on("error", (err: Error) => void this.onError(err));
    this.watcher = w;
  }

  /** Where to (re)subscribe: the last delivered revision again (deduplicated by key), or the first wanted one. */
  private resumeRevision(): number {
    return this.keysAtLast.size > 0 ? this.last : this.last + 1;
  }

  private onData(res: IWatchResponse): void {
    if (this.closed) return;
    const { prefix, parseKv } = this.store.internals;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      const key = ev.kv.key.toString("utf8");
      if (rev < this.last || (rev === this.last && this.keysAtLast.has(key))) continue; // already delivered
      if (rev > this.last) {
        this.last = rev;
        this.keysAtLast = new Set();
      }
      this.keysAtLast.add(key);
      const name = key.slice(prefix.length);
      if (ev.type === "Put") {
        const r = parseKv(ev.kv);
        this.sink.push(
          r.ok
            ? { type: "put", name, policy: r.stored, revision: rev, bytes: ev.kv.value.length }
            : { type: "invalid", name, revision: rev, error: r.error, bytes: ev.kv.value.length },
        );
      } else {
        this.sink.push({ type: "delete", name, revision: rev, reason: deleteReason(ev.prev_kv) });
      }
    }
  }

  private async onError(err: Error): Promise<void> {
    if (this.closed) return;
    const { logger } = this.store.internals;
    this.watcher?.removeAllListeners();
    this.watcher = undefined;
    let compacted = /compacted/i.test(err.message);
    if (!compacted) {
      // etcd cancels a watch whose start revision was compacted with an empty
      // reason (the library drops compact_revision): probe the revision.
      try {
        await this.store.internals.client.get(this.store.internals.prefix).revision(this.resumeRevision()).exec();
      } catch (e) {
        compacted = /compacted/i.test((e as Error).message);
      }
      if (this.closed) return;
    }
    if (compacted) {
      // Our revision is gone from etcd's history: hand over the full state and continue from there.
      logger.warn({ from: this.resumeRevision() }, "etcd watch revision compacted; sending a reset");
      await this.reset(undefined);
      return;
    }
    logger.warn({ err: err.message }, "etcd watch failed; re-subscribing");
    this.scheduleRestart(() => this.start());
  }

  /**
   * The member serving the watch reports a revision below what we delivered:
   * either it lags (another member served our earlier reads) or etcd's history
   * really went back (restored from a backup, a new cluster), in which case
   * waiting for our revision would miss every change until then. A
   * linearizable read tells which.
   */
  private async checkBehind(w: Watcher): Promise<void> {
    const { client, prefix, logger } = this.store.internals;
    try {
      const res = await client.getAll().prefix(prefix).limit(1).exec();
      const revision = Number(res.header.revision);
      if (this.closed || revision >= this.last) return;
      logger.warn({ revision, last: this.last }, "etcd revision went backwards; sending a reset");
      await this.reset(w);
    } catch (e) {
      logger.debug({ err: (e as Error).message }, "etcd revision check failed; the watch continues");
    }
  }

  /** Re-lists, emits "reset" with the full state and watches on from the list revision. */
  private async reset(current: Watcher | undefined): Promise<void> {
    if (this.closed) return;
    if (current) {
      current.removeAllListeners();
      current.on("error", () => {});
      current.cancel().catch(() => {});
      if (this.watcher === current) this.watcher = undefined;
    }
    try {
      const { policies, revision } = await this.store.list();
      if (this.closed) return;
      this.sink.push({ type: "reset", policies, revision });
      this.last = revision;
      this.keysAtLast = new Set();
      this.start();
    } catch (e) {
      this.store.internals.logger.warn({ err: (e as Error).message }, "etcd re-list for a reset failed; retrying");
      this.scheduleRestart(() => this.reset(undefined));
    }
  }

  private scheduleRestart(fn: () => void | Promise<void>): void {
    if (this.closed) return;
    this.restartTimer = setTimeout(() => void fn(), 1000);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.watcher;
    this.watcher = undefined;
    if (w) {
      w.removeAllListeners();
      w.on("error", () => {}); // late errors after cancel are expected
      w.cancel().catch(() => {});
    }
  }
}

/** Doubling delay with a cap (the shape etcd3's watch manager calls: .duration, .next()). */
function cappedBackoff(initialMs: number, maxMs: number, current = initialMs): { duration: number; next(): ReturnType<typeof cappedBackoff> } {
  return { duration: current, next: () => cappedBackoff(initialMs, maxMs, Math.min(current * 2, maxMs)) };
}

function createdAtOf(kv: IKeyValue): number {
  try {
    const v = JSON.parse(kv.value.toString("utf8")) as { metadata?: Record<string, unknown> };
    const c = v.metadata?.createdAtUnixMs ?? v.metadata?.created_at_unix_ms;
    return typeof c === "number" ? c : typeof c === "string" ? Number(c) || 0 : 0;
  } catch {
    return 0;
  }
}

/**
 * etcd does not say why a key was deleted. A value whose stamped expiry has
 * (about) passed was removed by its lease or by the expiry sweep.
 */
function deleteReason(prev: IKeyValue | undefined): "deleted" | "expired" {
  if (!prev) return "deleted";
  try {
    const v = JSON.parse(prev.value.toString("utf8")) as { metadata?: { expiresAtUnixMs?: number } };
    const at = Number(v.metadata?.expiresAtUnixMs ?? 0);
    if (at > 0 && at <= Date.now() + EXPIRY_SLACK_MS) return "expired";
  } catch {
    /* unparsable previous value */
  }
  return "deleted";
}

/** What a deleted invalid entry is reported as: its name and version, nothing else. */
function placeholder(name: string, version: number): StoredPolicy {
  return { policy: { metadata: { name, labels: {}, version, createdAtUnixMs: 0, updatedAtUnixMs: 0, expiresAtUnixMs: 0, versionLabel: "" }, spec: null }, version };
}

interface IndexEntry {
  bytes: number;
  version: number;
  /** Set for an invalid entry: why. */
  error?: string;
}

/**
 * Sizes and validity of every entry, for the total size limit and the list
 * of invalid entries: one paged scan, then a watch of its own (a reset
 * scans again). Counts what this replica has seen; concurrent writes on
 * other replicas are counted once their events arrive.
 */
class EntryIndex {
  private entries = new Map<string, IndexEntry>();
  private total = 0;
  /** Events at or below this revision are already in the scan. */
  private scanned = 0;
  private watch: Watch | undefined;
  private closed = false;

  private constructor(private readonly store: EtcdStore) {}

  static async start(store: EtcdStore): Promise<EntryIndex> {
    const idx = new EntryIndex(store);
    const revision = await idx.rescan();
    idx.watch = store.watch(revision, (e) => idx.onEvent(e));
    return idx;
  }

  private async rescan(): Promise<number> {
    const { entries, revision } = await this.store.scanEntries();
    if (revision < this.scanned) return this.scanned;
    this.entries = entries;
    this.total = 0;
    for (const e of entries.values()) this.total += e.bytes;
    this.scanned = revision;
    return revision;
  }

  private set(name: string, e: IndexEntry | undefined): void {
    this.total -= this.entries.get(name)?.bytes ?? 0;
    if (e) {
      this.entries.set(name, e);
      this.total += e.bytes;
    } else this.entries.delete(name);
  }

  private onEvent(e: StoreEvent): void {
    if (this.closed || e.revision <= this.scanned) return;
    switch (e.type) {
      case "put":
        this.set(e.name, { bytes: e.bytes ?? 0, version: e.revision });
        break;
      case "invalid":
        this.set(e.name, { bytes: e.bytes ?? 0, version: e.revision, error: e.error });
        break;
      case "delete":
        this.set(e.name, undefined);
        break;
      case "reset":
        // The reset carries valid policies only: scan again for sizes and invalid entries.
        this.rescan().catch(() => {
          this.scanned = 0; // next event or call recomputes from whatever arrives
        });
        break;
    }
  }

  usage(): StoreUsage {
    return { entries: this.entries.size, bytes: this.total };
  }

  bytesOf(name: string): number {
    return this.entries.get(name)?.bytes ?? 0;
  }

  invalid(): InvalidEntry[] {
    const out: InvalidEntry[] = [];
    for (const [name, e] of this.entries) if (e.error !== undefined) out.push({ name, version: e.version, error: e.error, bytes: e.bytes });
    return out.sort((a, b) => cmp(a.name, b.name));
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
