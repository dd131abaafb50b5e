// Watch streams of the typed client: one server stream as an async iterator,
// and the resuming iterator that reconnects after the server went away and
// continues from the last revision seen, without losing or repeating events.
import type { PolicyEventOut, PolicyOut } from "../../proto/types.ts";
import { HfiClientError, toClientError, type GrpcCodeName } from "./errors.ts";
import { STATUS } from "./status.ts";
import type { CallError, ServerStream } from "./wire.ts";

export interface ResumeOptions {
  /** First delay before reconnecting, doubled per failed attempt (default 500 ms). */
  minDelayMs?: number;
  /** Cap of the delay (default 10000 ms). */
  maxDelayMs?: number;
  /** Once per outage, when the stream failed or ended (before the first retry). */
  onDisconnect?(err: HfiClientError): void;
  /** When a new stream is up after an outage. */
  onResume?(): void;
}

/** Opens WatchPolicies(start_revision, send_initial). */
export type OpenWatch = (startRevision: number, sendInitial: boolean) => ServerStream<PolicyEventOut>;

/**
 * Adapts a server stream to an async iterator. Events are queued while the
 * consumer is busy (they are small and the consumer is expected to keep up);
 * return() cancels the call and swallows the resulting CANCELLED. `onUp`:
 * the server's response headers arrived (the watch is established).
 */
export function streamIterator(
  open: () => ServerStream<PolicyEventOut>,
  server: string,
  timeoutMs: number,
  onUp?: () => void,
): AsyncIterator<PolicyEventOut> {
  const call = open();
  const queue: PolicyEventOut[] = [];
  let failure: HfiClientError | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  if (onUp) call.on("metadata", () => onUp());
  call.on("data", (ev: PolicyEventOut) => {
    queue.push(ev);
    notify();
  });
  call.on("error", (err: CallError) => {
    if (!ended && err.code !== STATUS.CANCELLED) failure = toClientError(err, server, timeoutMs);
    ended = true;
    notify();
  });
  call.on("end", () => {
    ended = true;
    notify();
  });
  const finish = (): IteratorReturnResult<undefined> => {
    if (!ended) {
      ended = true;
      call.cancel();
    }
    queue.length = 0;
    notify(); // a next() waiting for an event returns done
    return { done: true, value: undefined };
  };
  return {
    async next() {
      for (;;) {
        const ev = queue.shift();
        if (ev) return { done: false, value: ev };
        if (failure) {
          const f = failure;
          failure = undefined;
          throw f;
        }
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((r) => (wake = r));
      }
    },
    async return() {
      return finish();
    },
    async throw(err?: unknown) {
      finish();
      throw err;
    },
  };
}

/** Failures worth reconnecting for; anything else (a wrong token, a bad request) ends the watch. */
const RETRYABLE = new Set<GrpcCodeName>([
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "INTERNAL",
  "UNKNOWN",
  "RESOURCE_EXHAUSTED",
  "ABORTED",
]);

/** Exponential backoff with jitter: a delay in [d/2, d], d = min(max, min·2^attempt). */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const d = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

const nameOf = (p: PolicyOut | null | undefined): string => p?.metadata?.name ?? "";
const versionOf = (p: PolicyOut | null | undefined): number => p?.metadata?.version ?? 0;

export interface ResumingWatchDeps {
  open: OpenWatch;
  list(): Promise<{ policies: PolicyOut[]; revision: number }>;
  server: string;
  timeoutMs: number;
}

/**
 * The auto-reconnecting watch. It keeps what the caller has been told (the
 * policies by name) and the last revision; a new stream starts after that
 * revision, so nothing is lost or repeated. When the server can only send a
 * reset (its history does not reach back), the reset is turned into the net
 * changes: a PUT for each policy that is new or changed, a DELETE for each
 * known name that is gone.
 *
 * Without `startRevision` it starts from a ListPolicies (the exact state and
 * its revision; the first failure there is thrown, so a wrong address fails
 * fast). With `startRevision` it only knows what it sees from there on: a
 * deletion during an outage is then reported only for names it saw.
 */
export function resumingWatch(
  deps: ResumingWatchDeps,
  opts: { sendInitial?: boolean; startRevision?: number },
  r: ResumeOptions = {},
): AsyncIterator<PolicyEventOut> {
  const minMs = r.minDelayMs ?? 500;
  const maxMs = r.maxDelayMs ?? 10_000;
  let stopped = false;
  let current: AsyncIterator<PolicyEventOut> | undefined;
  let wakeSleep: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeSleep = undefined;
        resolve();
      }
      wakeSleep = done;
    });

  async function* run(): AsyncGenerator<PolicyEventOut, void, undefined> {
    /** What the caller holds, by name. */
    const known = new Map<string, PolicyOut>();
    /** Whether `known` is everything (else only the names seen since startRevision). */
    let complete = false;
    let last = 0;
    if (opts.startRevision && opts.startRevision > 0) {
      last = opts.startRevision;
    } else {
      const { policies, revision } = await deps.list();
      for (const p of policies) known.set(nameOf(p), p);
      complete = true;
      last = revision;
      if (opts.sendInitial) {
        for (const p of policies) yield { type: "TYPE_PUT", policy: p, revision: versionOf(p) };
      }
    }

    /** The net changes from what is known to `state` (a reset at `revision`). */
    function* reconcile(state: PolicyOut[], revision: number): Generator<PolicyEventOut> {
      const names = new Set(state.map(nameOf));
      const changes: PolicyEventOut[] = [];
      for (const p of state) {
        const had = known.get(nameOf(p));
        // Unknown and not newer than `last`: the caller had it before it started from startRevision.
        if (had ? versionOf(had) !== versionOf(p) : versionOf(p) > last) {
          changes.push({ type: "TYPE_PUT", policy: p, revision });
        }
        known.set(nameOf(p), p);
      }
      for (const [name, had] of [...known]) {
        if (names.has(name)) continue;
        known.delete(name);
        changes.push({ type: "TYPE_DELETE", policy: had, revision });
      }
      complete = true;
      last = Math.max(last, revision);
      yield* changes;
    }

    let attempt = 0;
    let lost = false;
    const up = () => {
      attempt = 0;
      if (lost) {
        lost = false;
        r.onResume?.();
      }
    };
    while (!stopped) {
      // Revision 0 (a store never written to) cannot be resumed from: start
      // from now with the full state instead; everything in it is news.
      const from = last;
      const it = streamIterator(() => deps.open(from, from === 0), deps.server, deps.timeoutMs, up);
      current = it;
      let failure: HfiClientError | undefined;
      let reset: PolicyOut[] | undefined;
      try {
        for (;;) {
          const n = await it.next();
          if (n.done) break;
          up(); // an event proves the stream is up too
          let ev = n.value;
          if (ev.type === "TYPE_UNSPECIFIED") {
            // Reset markers: the state in between replaces what is known.
            if (!reset) reset = [];
            else {
              const state = reset;
              reset = undefined;
              yield* reconcile(state, ev.revision);
            }
            continue;
          }
          if (reset) {
            if (ev.type === "TYPE_PUT" && ev.policy) reset.push(ev.policy);
            continue;
          }
          const name = nameOf(ev.policy);
          if (ev.type === "TYPE_PUT" && ev.policy) {
            const had = known.get(name);
            known.set(name, ev.policy);
            if (had && versionOf(had) === versionOf(ev.policy)) continue; // already told
          } else if (ev.type === "TYPE_DELETE") {
            const had = known.get(name);
            known.delete(name);
            if (!had && complete) continue; // never existed for the caller
            if (had) ev = { ...ev, policy: had };
          }
          last = Math.max(last, ev.revision);
          yield ev;
        }
      } catch (err) {
        failure = toClientError(err, deps.server, deps.timeoutMs);
      } finally {
        current = undefined;
        await it.return?.();
      }
      if (stopped) return;
      if (failure && !RETRYABLE.has(failure.code)) throw failure;
      if (!lost) {
        lost = true;
        r.onDisconnect?.(failure ?? new HfiClientError("UNAVAILABLE", "the server ended the watch", [], deps.server));
      }
      await sleep(backoffDelay(attempt++, minMs, maxMs));
    }
  }

  const gen = run();
  return {
    next: () => gen.next(),
    async return() {
      // Stop what the generator is waiting for (a stream, a backoff), then end it.
      stopped = true;
      wakeSleep?.();
      await current?.return?.();
      return gen.return(undefined);
    },
    async throw(err?: unknown) {
      stopped = true;
      wakeSleep?.();
      await current?.return?.();
      return gen.throw(err);
    },
  };
}
