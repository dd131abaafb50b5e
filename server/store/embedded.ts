// The embedded store: one process, policies in memory, persisted to
// <dataDir>/policies.json with atomic replace (temp file, fsync, rename,
// fsync dir; one round trip to a writer thread, file-writer.ts). Same semantics as the etcd store: a monotonic revision per
// write, compare-and-swap, create-only, TTL expiry (expires_at is persisted
// and re-armed on start), and watch from a revision (recent events are kept
// in a ring buffer; older revisions get a "reset").
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { pino, type Logger } from "pino";
import type { PolicyOut } from "../../proto/loader.ts";
import { EventSink } from "./sink.ts";
import { AtomicFileWriter } from "./file-writer.ts";
import { applyPauseChange, EMPTY_PAUSE, parsePauseRecord, type PauseChange, type PauseState } from "../pause/state.ts";
import { cloneStored, parseStoredValue, SerialQueue, stampPolicy, storedValue } from "./stamp.ts";
import {
  StoreError,
  type DeleteOptions,
  type DeleteResult,
  type InvalidEntry,
  type ListPage,
  type ListPageOptions,
  type PolicyStore,
  type PutOptions,
  type PutResult,
  type StoreUsage,
  type StoredPolicy,
  type StoreEvent,
  type Watch,
} from "./types.ts";

export const DATA_FILE = "policies.json";
const LOCK_FILE = ".lock";
/** Data dirs open in this process (the pid in the lock file cannot tell them apart). */
const OPEN_DIRS = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
const FORMAT = "hfi-embedded-store/v1";
/** Longest setTimeout delay Node accepts; longer expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface EmbeddedStoreOptions {
  dataDir: string;
  logger?: Logger;
  /** Events kept for watch resume (default 1024). */
  eventLogSize?: number;
}

interface DataFile {
  format: string;
  revision: number;
  /** name → stored value (canonical JSON with metadata times) and its version. */
  policies: Record<string, { version: number; value: Record<string, unknown> }>;
  /** The pause switch (absent in files written before it existed: nothing paused). */
  pause?: PauseState;
}

export class EmbeddedStore implements PolicyStore {
  readonly kind = "embedded" as const;
  private revision = 0;
  private readonly policies = new Map<string, StoredPolicy>();
  /** Values in the file that do not validate (hand-edited): kept on disk, never served. */
  private readonly invalid = new Map<string, { version: number; value: Record<string, unknown> }>();
  /** Why each invalid entry does not validate. */
  private readonly invalidReasons = new Map<string, string>();
  /** Stored size (bytes of the value's JSON) of every entry, valid or not, and their sum. */
  private readonly sizes = new Map<string, number>();
  private totalBytes = 0;
  private readonly log: StoreEvent[] = [];
  /** Every event with revision > logStart is in `log`. */
  private logStart = 0;
  private readonly sinks = new Set<EventSink>();
  private pause: PauseState = EMPTY_PAUSE;
  private readonly pauseListeners = new Set<(s: PauseState) => void>();
  private readonly writes = new SerialQueue();
  /** Atomic replace of the data file, off the event loop. */
  private readonly writer = new AtomicFileWriter();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly file: string;
  private readonly logger: Logger;
  private readonly eventLogSize: number;

  private constructor(private readonly opts: EmbeddedStoreOptions) {
    this.file = path.join(opts.dataDir, DATA_FILE);
    this.logger = (opts.logger ?? pino({ level: "info" })).child({ store: "embedded" });
    this.eventLogSize = opts.eventLogSize ?? 1024;
  }

  /** Loads (or creates) the store in dataDir. Throws on a corrupt data file rather than starting empty. */
  static async open(opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    const s = new EmbeddedStore(opts);
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    const dir = this.opts.dataDir;
    await fs.mkdir(dir, { recursive: true });
    await this.lock();
    try {
      await this.loadData();
    } catch (e) {
      await this.unlock();
      throw e;
    }
  }

  /**
   * One store per data dir: two writers would overwrite each other's file.
   * The lock file holds the owner's pid; a lock whose process is gone (or that
   * carries our own pid from a previous container run) is stale and taken over.
   */
  private async lock(): Promise<void> {
    const dir = path.resolve(this.opts.dataDir);
    if (OPEN_DIRS.has(dir)) throw new Error(`embedded store: ${dir} is already open in this process`);
    const file = path.join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(file, `${process.pid}\n`, { flag: "wx" });
        OPEN_DIRS.add(dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const pid = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
        throw new Error(`embedded store: ${dir} is in use by process ${pid} (lock file ${file})`);
      this.logger.warn({ file, pid }, "taking over a stale embedded store lock");
      await fs.rm(file, { force: true });
    }
    throw new Error(`embedded store: could not lock ${dir}`);
  }

  private async unlock(): Promise<void> {
    const dir = path.resolve(this.opts.dataDir);
    if (!OPEN_DIRS.delete(dir)) return;
    await fs.rm(path.join(dir, LOCK_FILE), { force: true }).catch(() => {});
  }

  private async loadData(): Promise<void> {
    const dir = this.opts.dataDir;
    // Leftovers of a crash mid-write: the rename never happened, so the data file is intact.
    for (const f of await fs.readdir(dir)) {
      if (f.startsWith(`${DATA_FILE}.tmp-`)) {
        this.logger.warn({ file: f }, "removing leftover temp file of an interrupted write");
        await fs.rm(path.join(dir, f), { force: true });
      }
    }
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        this.logStart = 0;
        return;
      }
      throw new Error(`embedded store: cannot read ${this.file}: ${(e as Error).message}`);
    }
    const data = parseDataFile(text, this.file);
    this.revision = data.revision;
    this.logStart = data.revision;
    if (data.pause) {
      const r = parsePauseRecord(JSON.stringify(data.pause));
      if (r.error) this.logger.error({ error: r.error }, "pause switch in the data file ignored");
      this.pause = r.state;
    }
    for (const [name, entry] of Object.entries(data.policies)) {
      const r = parseStoredValue(name, entry.value, entry.version);
      this.setSize(name, Buffer.byteLength(JSON.stringify(entry.value)));
      if (r.ok) this.policies.set(name, r.stored);
      else {
        this.invalid.set(name, entry);
        this.invalidReasons.set(name, r.error);
        this.logger.error({ policy: name, error: r.error }, "invalid policy in the data file: kept on disk, not served");
      }
    }
    this.logger.info({ file: this.file, policies: this.policies.size, revision: this.revision }, "embedded store loaded");
    await this.expireDue();
  }

  private check(): void {
    if (this.closed) throw new StoreError("unavailable", "store is closed");
  }

  async list(): Promise<{ policies: StoredPolicy[]; revision: number }> {
    this.check();
    const policies = [...this.policies.values()]
      .sort((a, b) => cmp(a.policy.metadata!.name, b.policy.metadata!.name))
      .map(cloneStored);
    return { policies, revision: this.revision };
  }

  private setSize(name: string, bytes: number | undefined): void {
    this.totalBytes -= this.sizes.get(name) ?? 0;
    if (bytes === undefined) this.sizes.delete(name);
    else {
      this.sizes.set(name, bytes);
      this.totalBytes += bytes;
    }
  }

  private invalidEntry(name: string): InvalidEntry {
    return {
      name,
      version: this.invalid.get(name)!.version,
      error: this.invalidReasons.get(name) ?? "invalid",
      bytes: this.sizes.get(name) ?? 0,
    };
  }

  async listPage(opts: ListPageOptions): Promise<ListPage> {
    this.check();
    const after = opts.after ?? "";
    const names = [...this.policies.keys(), ...this.invalid.keys()].filter((n) => n > after).sort(cmp);
    const take = names.slice(0, Math.max(1, opts.limit));
    const page: ListPage = { policies: [], invalid: [], revision: this.revision };
    for (const n of take) {
      const p = this.policies.get(n);
      if (p) page.policies.push(cloneStored(p));
      else page.invalid.push(this.invalidEntry(n));
    }
    if (names.length > take.length) page.next = take[take.length - 1];
    return page;
  }

  async listInvalid(): Promise<InvalidEntry[]> {
    this.check();
    return [...this.invalid.keys()].sort(cmp).map((n) => this.invalidEntry(n));
  }

  async usage(): Promise<StoreUsage> {
    this.check();
    return { entries: this.sizes.size, bytes: this.totalBytes };
  }

  async get(name: string): Promise<StoredPolicy | undefined> {
    this.check();
    const p = this.policies.get(name);
    return p && cloneStored(p);
  }

  put(policy: PolicyOut, opts: PutOptions = {}): Promise<PutResult> {
    return this.writes.run(async () => {
      this.check();
      const name = policy.metadata?.name ?? "";
      if (!name) throw new Error("policy has no metadata.name (validate with parsePolicyInput first)");
      const cur = this.policies.get(name);
      const curVersion = cur?.version ?? this.invalid.get(name)?.version ?? 0;
      if (opts.createOnly && curVersion !== 0) throw new StoreError("already_exists", `policy "${name}" already exists`);
      if (opts.expectedVersion && opts.expectedVersion !== curVersion)
        throw new StoreError(
          "conflict",
          `policy "${name}" is at version ${curVersion}, not ${opts.expectedVersion}`,
        );
      const rev = this.revision + 1;
      const now = Date.now();
      const stored = stampPolicy(policy, {
        version: rev,
        createdAtUnixMs: cur?.policy.metadata?.createdAtUnixMs || now,
        updatedAtUnixMs: now,
        expiresAtUnixMs: opts.ttlSeconds && opts.ttlSeconds > 0 ? now + opts.ttlSeconds * 1000 : 0,
      });
      const bytes = Buffer.byteLength(JSON.stringify(storedValue(stored)));
      if (opts.maxTotalBytes !== undefined) {
        const after = this.totalBytes - (this.sizes.get(name) ?? 0) + bytes;
        if (after > opts.maxTotalBytes)
          throw new StoreError(
            "quota",
            `policy "${name}": the store would hold ${after} bytes of policies, over its total limit of ${opts.maxTotalBytes} bytes; delete policies first`,
          );
      }
      const next = new Map(this.policies).set(name, stored);
      const invalid = new Map(this.invalid);
      invalid.delete(name);
      await this.persist(rev, next, invalid);
      this.policies.set(name, stored);
      this.invalid.delete(name);
      this.invalidReasons.delete(name);
      this.setSize(name, bytes);
      this.revision = rev;
      this.emit({ type: "put", name, policy: cloneStored(stored), revision: rev, bytes });
      this.armTimer();
      return { ...cloneStored(stored), created: curVersion === 0 };
    });
  }

  delete(name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    return this.writes.run(async () => {
      this.check();
      const cur = this.policies.get(name);
      const bad = cur ? undefined : this.invalid.has(name) ? this.invalidEntry(name) : undefined;
      if (!cur && !bad) throw new StoreError("not_found", `policy "${name}" not found`);
      const curVersion = cur?.version ?? bad!.version;
      if (opts.expectedVersion && opts.expectedVersion !== curVersion)
        throw new StoreError("conflict", `policy "${name}" is at version ${curVersion}, not ${opts.expectedVersion}`);
      const rev = this.revision + 1;
      const next = new Map(this.policies);
      next.delete(name);
      const invalid = new Map(this.invalid);
      invalid.delete(name);
      await this.persist(rev, next, invalid);
      this.policies.delete(name);
      this.invalid.delete(name);
      this.invalidReasons.delete(name);
      this.setSize(name, undefined);
      this.revision = rev;
      this.emit({ type: "delete", name, revision: rev, reason: "deleted" });
      this.armTimer();
      if (cur) return { previous: cloneStored(cur), revision: rev };
      const placeholder: StoredPolicy = {
        policy: { metadata: { name, labels: {}, version: curVersion, createdAtUnixMs: 0, updatedAtUnixMs: 0, expiresAtUnixMs: 0, versionLabel: "" }, spec: null },
        version: curVersion,
      };
      return { previous: placeholder, revision: rev, invalid: bad };
    });
  }

  watch(fromRevision: number, onEvent: (e: StoreEvent) => void): Watch {
    const sink = new EventSink(onEvent, this.logger);
    if (fromRevision !== this.revision) {
      // Newer than the store (the data dir was replaced): only a reset is correct.
      if (fromRevision < this.revision && fromRevision >= this.logStart) {
        for (const e of this.log) if (e.revision > fromRevision) sink.push(structuredClone(e));
      } else {
        // The events since fromRevision are no longer known: hand over the whole state.
        const policies = [...this.policies.values()]
          .sort((a, b) => cmp(a.policy.metadata!.name, b.policy.metadata!.name))
          .map(cloneStored);
        sink.push({ type: "reset", policies, revision: this.revision });
      }
    }
    this.sinks.add(sink);
    return {
      close: () => {
        sink.close();
        this.sinks.delete(sink);
      },
    };
  }

  async getPause(): Promise<PauseState> {
    this.check();
    return structuredClone(this.pause);
  }

  changePause(change: PauseChange): Promise<PauseState> {
    return this.writes.run(async () => {
      this.check();
      const next = applyPauseChange(this.pause, change);
      await this.persist(this.revision, this.policies, this.invalid, next);
      this.pause = next;
      for (const fn of this.pauseListeners) fn(structuredClone(next));
      return structuredClone(next);
    });
  }

  watchPause(onState: (s: PauseState) => void): Watch {
    this.pauseListeners.add(onState);
    queueMicrotask(() => {
      if (this.pauseListeners.has(onState)) onState(structuredClone(this.pause));
    });
    return { close: () => void this.pauseListeners.delete(onState) };
  }

  async ping(): Promise<void> {
    this.check();
    await fs.access(this.opts.dataDir, fs.constants.W_OK);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.writes.idle();
    await this.writer.close();
    for (const s of this.sinks) s.close();
    this.sinks.clear();
    this.pauseListeners.clear();
    await this.unlock();
  }

  private emit(e: StoreEvent): void {
    this.log.push(e);
    while (this.log.length > this.eventLogSize) this.logStart = this.log.shift()!.revision;
    // Each watcher gets its own copy: a consumer mutating an event affects nobody else.
    for (const s of this.sinks) s.push(structuredClone(e));
  }

  // ---- expiry ----

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    let next = Infinity;
    for (const p of this.policies.values()) {
      const at = p.policy.metadata?.expiresAtUnixMs ?? 0;
      if (at > 0 && at < next) next = at;
    }
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writes.run(() => this.expireDue()).catch((err) => this.logger.error({ err }, "expiring policies failed"));
    }, delay);
    this.timer.unref();
  }

  /** Deletes every policy whose expiry has passed (one revision each), then re-arms. Runs serialised. */
  private async expireDue(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    const due = [...this.policies.values()]
      .filter((p) => (p.policy.metadata?.expiresAtUnixMs ?? 0) > 0 && p.policy.metadata!.expiresAtUnixMs <= now)
      .map((p) => p.policy.metadata!.name)
      .sort(cmp);
    if (due.length > 0) {
      const next = new Map(this.policies);
      for (const n of due) next.delete(n);
      const rev = this.revision + due.length;
      try {
        await this.persist(rev, next, this.invalid);
      } catch (err) {
        // Retry later; the policies stay until the deletion is durable.
        this.logger.error({ err }, "could not persist expiry; retrying in 1 s");
        if (!this.closed) {
          this.timer = setTimeout(() => void this.writes.run(() => this.expireDue()).catch(() => {}), 1000);
          this.timer.unref();
        }
        return;
      }
      let rev2 = this.revision;
      for (const n of due) {
        this.policies.delete(n);
        this.setSize(n, undefined);
        rev2++;
        this.logger.info({ policy: n, revision: rev2 }, "policy expired");
        this.emit({ type: "delete", name: n, revision: rev2, reason: "expired" });
      }
      this.revision = rev2;
    }
    this.armTimer();
  }

  // ---- persistence ----

  private async persist(
    revision: number,
    policies: Map<string, StoredPolicy>,
    invalid: Map<string, { version: number; value: Record<string, unknown> }>,
    pause: PauseState = this.pause,
  ): Promise<void> {
    const data: DataFile = { format: FORMAT, revision, policies: {} };
    if (pause.updatedAtUnixMs) data.pause = pause;
    const names = [...policies.keys(), ...invalid.keys()].sort(cmp);
    for (const n of names) {
      const p = policies.get(n);
      data.policies[n] = p ? { version: p.version, value: storedValue(p) } : invalid.get(n)!;
    }
    const dir = this.opts.dataDir;
    const tmp = path.join(dir, `${DATA_FILE}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
    try {
      await this.writer.replace({ tmp, file: this.file, dir, text: JSON.stringify(data, null, 1) + "\n", mode: 0o600 });
    } catch (e) {
      throw new StoreError("unavailable", `embedded store: cannot write ${this.file}: ${(e as Error).message}`);
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseDataFile(text: string, file: string): DataFile {
  const fail = (why: string): never => {
    throw new Error(
      `embedded store: ${file} is corrupt (${why}); refusing to start with an empty store. ` +
        `Restore it from a backup or move it away to start empty.`,
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  const d = data as Partial<DataFile> | null;
  if (!d || typeof d !== "object" || Array.isArray(d)) return fail("not an object");
  if (d.format !== FORMAT) return fail(`unknown format ${JSON.stringify(d.format)}, expected ${FORMAT}`);
  if (!Number.isSafeInteger(d.revision) || d.revision! < 0) return fail("bad revision");
  if (!d.policies || typeof d.policies !== "object" || Array.isArray(d.policies)) return fail("bad policies");
  for (const [name, e] of Object.entries(d.policies)) {
    if (!e || typeof e !== "object" || !Number.isSafeInteger(e.version) || !e.value || typeof e.value !== "object")
      fail(`bad entry for ${JSON.stringify(name)}`);
  }
  return d as DataFile;
}
