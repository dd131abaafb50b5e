// Delivers store events to one watcher: asynchronously (never inside the
// call that produced them), serially, in order, and not after close().
import type { Logger } from "pino";
import type { StoreEvent } from "./types.ts";

export class EventSink {
  private readonly queue: StoreEvent[] = [];
  private scheduled = false;
  closed = false;

  constructor(
    private readonly onEvent: (e: StoreEvent) => void,
    private readonly log: Logger,
  ) {}

  push(e: StoreEvent): void {
    if (this.closed) return;
    this.queue.push(e);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    while (!this.closed && this.queue.length > 0) {
      const e = this.queue.shift()!;
      try {
        this.onEvent(e);
      } catch (err) {
        this.log.error({ err, event: e.type }, "store watch callback failed");
      }
    }
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }
}
