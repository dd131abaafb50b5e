// The pause switch in etcd: one key next to (never inside) the policy prefix,
// changed by compare-and-swap on its mod revision and followed by a watch of
// its own. On every (re)connect the key is read again, so a change made while
// the watch was down is not missed.
import type { Etcd3, Watcher } from "etcd3";
import type { Logger } from "pino";
import { applyPauseChange, EMPTY_PAUSE, parsePauseRecord, pauseRecord, type PauseChange, type PauseState } from "../pause/state.ts";
import { StoreError, type Watch } from "./types.ts";

/** "/x/policies/" → "/x/pause"; any other prefix "/p/" → "/p-pause". */
export function pauseKeyFor(policyPrefix: string): string {
  const p = policyPrefix.endsWith("/") ? policyPrefix : `${policyPrefix}/`;
  const m = /^(.*\/)policies\/$/.exec(p);
  return m ? `${m[1]}pause` : `${p.slice(0, -1)}-pause`;
}

/** CAS attempts before a change gives up (each loses only to another concurrent change). */
const MAX_ATTEMPTS = 10;

export class EtcdPauseSwitch {
  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    private readonly logger: Logger,
    private readonly call: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
  ) {}

  private async read(): Promise<{ state: PauseState; modRevision: number }> {
    const res = await this.call("pause read", () => this.client.get(this.key).exec());
    const kv = res.kvs[0];
    if (!kv) return { state: EMPTY_PAUSE, modRevision: 0 };
    const r = parsePauseRecord(kv.value.toString("utf8"));
    if (r.error) this.logger.error({ key: this.key, error: r.error }, "pause record ignored");
    return { state: r.state, modRevision: Number(kv.mod_revision) };
  }

  async get(): Promise<PauseState> {
    return (await this.read()).state;
  }

  async change(change: PauseChange): Promise<PauseState> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { state, modRevision } = await this.read();
      const next = applyPauseChange(state, change);
      const txn = await this.call("pause write", () =>
        this.client.if(this.key, "Mod", "==", modRevision).then(this.client.put(this.key).value(pauseRecord(next))).commit(),
      );
      if (txn.succeeded) return next;
    }
    throw new StoreError("conflict", `pause switch changed concurrently ${MAX_ATTEMPTS} times; retry`);
  }

  watch(onState: (s: PauseState) => void): Watch {
    let closed = false;
    let watcher: Watcher | undefined;
    const emit = () => {
      this.read().then(
        (r) => !closed && onState(r.state),
        (err) => this.logger.debug({ err: (err as Error).message }, "pause read after (re)connect failed"),
      );
    };
    this.client
      .watch()
      .key(this.key)
      .create()
      .then(
        (w) => {
          if (closed) return void w.cancel().catch(() => {});
          watcher = w;
          w.on("put", (kv) => {
            const r = parsePauseRecord(kv.value.toString("utf8"));
            if (r.error) this.logger.error({ key: this.key, error: r.error }, "pause record ignored");
            onState(r.state);
          });
          w.on("delete", () => onState(EMPTY_PAUSE));
          w.on("connected", emit);
          w.on("error", (err: Error) => this.logger.warn({ err: err.message }, "pause watch error"));
          emit();
        },
        (err) => this.logger.warn({ err: (err as Error).message }, "pause watch could not start"),
      );
    return {
      close: () => {
        closed = true;
        void watcher?.cancel().catch(() => {});
      },
    };
  }
}
