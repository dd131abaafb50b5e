// Request/response and notifications between the primary and a worker over
// the cluster IPC channel ("advanced" serialization: structured clone, so
// Maps and Buffers travel as they are). Errors cross as name + message +
// own fields and come back with their class's prototype, so the API error
// mapping (errors.ts) answers a worker's call exactly as in one process.
import { ApiError } from "../errors.ts";
import { PolicyValidationError } from "../../policy/index.ts";
import { StoreError } from "../store/types.ts";

/** What both a cluster Worker and a worker's `process` offer. */
export interface Channel {
  send(message: unknown): boolean;
  on(event: "message", fn: (message: unknown) => void): unknown;
  off(event: "message", fn: (message: unknown) => void): unknown;
}

type Handler = (payload: unknown) => unknown;

interface Req {
  ipc: "req";
  id: number;
  kind: string;
  payload: unknown;
}
interface Res {
  ipc: "res";
  id: number;
  ok: boolean;
  value?: unknown;
  error?: SerializedError;
}
interface Note {
  ipc: "note";
  kind: string;
  payload: unknown;
}

interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
}

const ERROR_CLASSES: Record<string, { prototype: Error }> = {
  StoreError,
  ApiError,
  PolicyValidationError,
};

function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v !== "function") fields[k] = v;
  return { name: e.name, message: e.message, fields };
}

function deserializeError(s: SerializedError): Error {
  const cls = ERROR_CLASSES[s.name];
  const e: Error = cls ? Object.create(cls.prototype) : new Error(s.message);
  Object.assign(e, s.fields);
  e.message = s.message;
  e.name = s.name;
  if (cls) e.stack = `${s.name}: ${s.message}`;
  return e;
}

export class IpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<string, Handler>();
  private readonly notes = new Map<string, Set<(payload: unknown) => void>>();
  private closed: Error | undefined;
  private readonly onMessage = (m: unknown) => this.receive(m);

  constructor(private readonly channel: Channel) {
    channel.on("message", this.onMessage);
  }

  handle(kind: string, fn: Handler): this {
    this.handlers.set(kind, fn);
    return this;
  }

  onNote(kind: string, fn: (payload: unknown) => void): () => void {
    let set = this.notes.get(kind);
    if (!set) this.notes.set(kind, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** timeoutMs: reject when no answer came by then (0: wait as long as the peer lives). */
  request<T>(kind: string, payload?: unknown, timeoutMs = 0): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        resolve: (v) => (done(), resolve(v as T)),
        reject: (e) => (done(), reject(e)),
      });
      if (timeoutMs > 0) timer = setTimeout(() => this.pending.get(id)?.reject(new Error(`no answer to ${kind} within ${timeoutMs} ms`)), timeoutMs);
      this.send({ ipc: "req", id, kind, payload } satisfies Req);
    });
  }

  notify(kind: string, payload?: unknown): void {
    if (!this.closed) this.send({ ipc: "note", kind, payload } satisfies Note);
  }

  private send(m: Req | Res | Note): void {
    try {
      this.channel.send(m);
    } catch (err) {
      // The channel is closing (the peer exited): the exit handler settles what is pending.
      if (m.ipc === "req") this.pending.get(m.id)?.reject(err as Error);
    }
  }

  private receive(m: unknown): void {
    const msg = m as Req | Res | Note;
    if (!msg || typeof msg !== "object" || !("ipc" in msg)) return;
    if (msg.ipc === "res") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(deserializeError(msg.error!));
    } else if (msg.ipc === "req") {
      const h = this.handlers.get(msg.kind);
      Promise.resolve()
        .then(() => {
          if (!h) throw new Error(`no IPC handler for ${msg.kind}`);
          return h(msg.payload);
        })
        .then(
          (value) => this.send({ ipc: "res", id: msg.id, ok: true, value }),
          (err) => this.send({ ipc: "res", id: msg.id, ok: false, error: serializeError(err) }),
        );
    } else if (msg.ipc === "note") {
      for (const fn of this.notes.get(msg.kind) ?? []) fn(msg.payload);
    }
  }

  /** The peer is gone: pending requests fail with `reason`. */
  close(reason: Error): void {
    if (this.closed) return;
    this.closed = reason;
    this.channel.off("message", this.onMessage);
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }
}
