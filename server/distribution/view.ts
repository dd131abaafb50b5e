// One replica's in-memory view of every valid policy, fed by the store's
// watch. Everything that pushes or reports (config streams, WatchPolicies,
// status) reads this view, so it keeps working from the last known state
// while the store is down.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { PolicyStore, StoredPolicy, StoreEvent, Watch } from "../store/types.ts";
import type { Metrics } from "../metrics.ts";
import { EMPTY_PAUSE, samePause, type PauseState } from "../pause/state.ts";

/** What changed in one store event: old and new content per name. */
export interface ViewChange {
  revision: number;
  /** Policies that appeared or changed (new content). */
  put: StoredPolicy[];
  /** Names that disappeared, with their last content. */
  deleted: { previous: StoredPolicy; reason: "deleted" | "expired" | "reset" }[];
  /** When the event reached this replica (performance.now()). */
  receivedAt: number;
}

export interface PolicyViewOptions {
  store: PolicyStore;
  logger: Logger;
  metrics: Metrics;
  /** Delay between attempts to load the initial state while the store is down. */
  retryMs?: number;
}

export class PolicyView extends EventEmitter<{ change: [ViewChange]; synced: []; pause: [PauseState, number] }> {
  readonly policies = new Map<string, StoredPolicy>();
  /** The pause switch as last read (loaded before the first snapshot goes out). */
  pause: PauseState = EMPTY_PAUSE;
  private pauseWatch: Watch | undefined;
  revision = 0;
  /** True once the initial list() succeeded; until then streams wait. */
  synced = false;
  private watch: Watch | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PolicyViewOptions) {
    super();
    // One listener per WatchPolicies call and per waiting subscriber.
    this.setMaxListeners(0);
    opts.metrics.pauseActive = () => (this.pause.all || this.pause.namespaces.length || this.pause.policies.length ? 1 : 0);
  }

  /** Loads the initial state (retrying in the background while the store is down). */
  async start(): Promise<void> {
    try {
      await this.load();
    } catch (err) {
      this.opts.metrics.storeErrors.inc({ op: "list" });
      this.opts.logger.warn({ err: String(err) }, "store unavailable at start; retrying in the background");
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.load().catch((err) => {
        this.opts.metrics.storeErrors.inc({ op: "list" });
        this.opts.logger.debug({ err: String(err) }, "initial list failed");
        this.scheduleRetry();
      });
    }, this.opts.retryMs ?? 1000);
    this.retryTimer.unref();
  }

  private async load(): Promise<void> {
    // Read first: after a restart no snapshot may go out unpaused.
    const pause = await this.opts.store.getPause();
    const { policies, revision } = await this.opts.store.list();
    if (this.closed) return;
    this.pause = pause;
    this.pauseWatch = this.opts.store.watchPause((s) => this.onPause(s));
    this.onEvent({ type: "reset", policies, revision });
    this.synced = true;
    this.watch = this.opts.store.watch(revision, (e) => this.onEvent(e));
    this.emit("synced");
  }

  private onPause(s: PauseState): void {
    if (this.closed || samePause(s, this.pause)) return;
    this.pause = s;
    this.opts.logger.info({ all: s.all, namespaces: s.namespaces, policies: s.policies }, "pause switch changed");
    this.emit("pause", s, performance.now());
  }

  /** Sorted by name. */
  list(): StoredPolicy[] {
    return [...this.policies.values()].sort((a, b) => (a.policy.metadata!.name < b.policy.metadata!.name ? -1 : 1));
  }

  private onEvent(e: StoreEvent): void {
    if (this.closed) return;
    const receivedAt = performance.now();
    const change: ViewChange = { revision: e.revision, put: [], deleted: [], receivedAt };
    switch (e.type) {
      case "put":
        this.policies.set(e.name, e.policy);
        change.put.push(e.policy);
        break;
      case "delete": {
        const previous = this.policies.get(e.name);
        if (!previous) return;
        this.policies.delete(e.name);
        change.deleted.push({ previous, reason: e.reason });
        break;
      }
      case "invalid": {
        // Never pushed. A stored value that became invalid drops the policy
        // it replaced: the store no longer holds a valid version of it.
        this.opts.metrics.invalidPolicies.inc();
        this.opts.logger.warn({ policy: e.name, revision: e.revision, error: e.error }, "invalid policy in store ignored");
        const previous = this.policies.get(e.name);
        if (!previous) {
          this.revision = Math.max(this.revision, e.revision);
          return;
        }
        this.policies.delete(e.name);
        change.deleted.push({ previous, reason: "deleted" });
        break;
      }
      case "reset": {
        const next = new Map(e.policies.map((p) => [p.policy.metadata!.name, p]));
        for (const [name, previous] of this.policies) {
          if (!next.has(name)) change.deleted.push({ previous, reason: "reset" });
        }
        for (const [name, p] of next) {
          const old = this.policies.get(name);
          if (!old || old.version !== p.version) change.put.push(p);
        }
        this.policies.clear();
        for (const [name, p] of next) this.policies.set(name, p);
        if (this.synced) this.opts.logger.info({ revision: e.revision, policies: next.size }, "store watch reset: view replaced");
        break;
      }
    }
    this.revision = Math.max(this.revision, e.revision);
    if (change.put.length || change.deleted.length) this.emit("change", change);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
    this.pauseWatch?.close();
  }
}
