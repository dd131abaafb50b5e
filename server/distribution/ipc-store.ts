// A worker's PolicyStore: every call goes to the primary, which owns the one
// real store (the embedded store's lock admits one process; with etcd it
// keeps one client and one watch per worker in one place). A watch here is a
// watch the primary opens on the real store and forwards event by event, so
// each worker sees the same events in the same order as one process would.
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
  type StoredPolicy,
  type StoreEvent,
  type StoreUsage,
  type Watch,
} from "../store/types.ts";
import type { PolicyOut } from "../../proto/loader.ts";
import type { IpcPeer } from "./ipc.ts";
import type { PauseChange, PauseState } from "../pause/state.ts";

interface WatchEvent {
  id: number;
  event: StoreEvent;
}

export class IpcStore implements PolicyStore {
  private nextWatch = 1;
  private readonly watches = new Map<number, (e: StoreEvent) => void>();
  private readonly pauseWatches = new Map<number, (s: PauseState) => void>();

  constructor(
    private readonly peer: IpcPeer,
    readonly kind: PolicyStore["kind"],
  ) {
    peer.onNote("store-event", (p) => {
      const { id, event } = p as WatchEvent;
      this.watches.get(id)?.(event);
    });
    peer.onNote("pause-state", (p) => {
      const { id, state } = p as { id: number; state: PauseState };
      this.pauseWatches.get(id)?.(state);
    });
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.peer.request<T>("store", { method, args }).catch((err: Error) => {
      if (err.name === "StoreError" || err.name === "PolicyValidationError" || err.name === "ApiError") throw err;
      throw new StoreError("unavailable", `store (in the primary process) unavailable: ${err.message}`);
    });
  }

  list(): Promise<{ policies: StoredPolicy[]; revision: number }> {
    return this.call("list");
  }
  listPage(opts: ListPageOptions): Promise<ListPage> {
    return this.call("listPage", opts);
  }
  listInvalid(): Promise<InvalidEntry[]> {
    return this.call("listInvalid");
  }
  usage(): Promise<StoreUsage> {
    return this.call("usage");
  }
  get(name: string): Promise<StoredPolicy | undefined> {
    return this.call("get", name);
  }
  put(policy: PolicyOut, opts?: PutOptions): Promise<PutResult> {
    return this.call("put", policy, opts);
  }
  delete(name: string, opts?: DeleteOptions): Promise<DeleteResult> {
    return this.call("delete", name, opts);
  }
  ping(): Promise<void> {
    return this.call("ping");
  }
  getPause(): Promise<PauseState> {
    return this.call("getPause");
  }
  changePause(change: PauseChange): Promise<PauseState> {
    return this.call("changePause", change);
  }

  watchPause(onState: (s: PauseState) => void): Watch {
    const id = this.nextWatch++;
    this.pauseWatches.set(id, onState);
    this.peer.notify("pause-watch", { id });
    return {
      close: () => {
        if (this.pauseWatches.delete(id)) this.peer.notify("pause-unwatch", { id });
      },
    };
  }

  watch(fromRevision: number, onEvent: (e: StoreEvent) => void): Watch {
    const id = this.nextWatch++;
    this.watches.set(id, onEvent);
    this.peer.notify("store-watch", { id, fromRevision });
    return {
      close: () => {
        if (this.watches.delete(id)) this.peer.notify("store-unwatch", { id });
      },
    };
  }

  /** The primary owns the real store and closes it. */
  async close(): Promise<void> {
    for (const id of [...this.watches.keys()]) this.peer.notify("store-unwatch", { id });
    this.watches.clear();
    for (const id of [...this.pauseWatches.keys()]) this.peer.notify("pause-unwatch", { id });
    this.pauseWatches.clear();
  }
}

const STORE_METHODS = new Set(["list", "listPage", "listInvalid", "usage", "get", "put", "delete", "ping", "getPause", "changePause"]);

/** The primary's side for one worker: store calls and forwarded watches. Returns a cleanup. */
export function serveStore(peer: IpcPeer, store: PolicyStore): () => void {
  const watches = new Map<number, Watch>();
  peer.handle("store", (p) => {
    const { method, args } = p as { method: string; args: unknown[] };
    if (!STORE_METHODS.has(method)) throw new Error(`unknown store method ${method}`);
    return (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args);
  });
  const offWatch = peer.onNote("store-watch", (p) => {
    const { id, fromRevision } = p as { id: number; fromRevision: number };
    watches.set(id, store.watch(fromRevision, (event) => peer.notify("store-event", { id, event } satisfies WatchEvent)));
  });
  const offUnwatch = peer.onNote("store-unwatch", (p) => {
    const { id } = p as { id: number };
    watches.get(id)?.close();
    watches.delete(id);
  });
  const offPauseWatch = peer.onNote("pause-watch", (p) => {
    const { id } = p as { id: number };
    watches.set(id, store.watchPause((state) => peer.notify("pause-state", { id, state })));
  });
  const offPauseUnwatch = peer.onNote("pause-unwatch", (p) => {
    const { id } = p as { id: number };
    watches.get(id)?.close();
    watches.delete(id);
  });
  return () => {
    offWatch();
    offUnwatch();
    offPauseWatch();
    offPauseUnwatch();
    for (const w of watches.values()) w.close();
    watches.clear();
  };
}
