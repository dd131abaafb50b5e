// Readiness and store health are different questions. /readyz: can this
// replica serve config streams (its policy view is loaded, its workers
// listen)? That stays true through a store outage, because streams are
// served from the view; so Kubernetes keeps every replica in the Service and
// new sidecars still get the last good config. /healthz/store and the
// hfi_store_up gauge say whether the store answers (writes fail UNAVAILABLE
// while it does not).
import { Gauge, type Registry } from "prom-client";
import type { PolicyStore } from "../store/types.ts";

/** How long a store health check waits for the store. */
export const STORE_PING_TIMEOUT_MS = 2000;
export const READY_PATH = "/readyz";
export const STORE_HEALTH_PATH = "/healthz/store";

/** undefined when ready; otherwise why not. */
export type Readiness = () => Promise<string | undefined> | string | undefined;

/** undefined when the store answers a ping within STORE_PING_TIMEOUT_MS; otherwise why not (the bare error). */
export async function storePingError(store: PolicyStore): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`store did not answer within ${STORE_PING_TIMEOUT_MS} ms`)), STORE_PING_TIMEOUT_MS);
      }),
    ]);
    return undefined;
  } catch (err) {
    return (err as Error)?.message ?? String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** undefined when the store answers a ping in time; otherwise the reason. */
export async function pingStore(store: PolicyStore): Promise<string | undefined> {
  const reason = await storePingError(store);
  return reason === undefined ? undefined : `store unavailable: ${reason}`;
}

/** hfi_store_up: 1 when the store answered the scrape's ping, else 0 (only where the store lives). */
export function registerStoreUp(registry: Registry, store: PolicyStore): void {
  new Gauge({
    name: "hfi_store_up",
    help: `1 when the policy store answered a ping within ${STORE_PING_TIMEOUT_MS} ms at scrape time, else 0`,
    labelNames: ["store"],
    registers: [registry],
    async collect() {
      this.set({ store: store.kind }, (await pingStore(store)) ? 0 : 1);
    },
  });
}

interface ProbeDeps {
  store: PolicyStore;
  readiness: Readiness;
  isClosing: () => boolean;
}

/** Answers READY_PATH and STORE_HEALTH_PATH: [status, body]. */
export async function probeAnswer(path: string, deps: ProbeDeps): Promise<[number, unknown]> {
  if (path === STORE_HEALTH_PATH) {
    const reason = await pingStore(deps.store);
    return reason ? [503, { status: "unavailable", store: deps.store.kind, reason }] : [200, { status: "ok", store: deps.store.kind }];
  }
  if (deps.isClosing()) return [503, { status: "not ready", reason: "server shutting down" }];
  const reason = await deps.readiness();
  return reason ? [503, { status: "not ready", reason }] : [200, { status: "ready", store: deps.store.kind }];
}

export function isProbePath(path: string): boolean {
  return path === READY_PATH || path === STORE_HEALTH_PATH;
}
