// Store selection: etcd when endpoints are given, else the embedded store.
import type { Logger } from "pino";
import { EmbeddedStore } from "./embedded.ts";
import { DEFAULT_ETCD_PREFIX, EtcdStore } from "./etcd.ts";
import type { PolicyStore } from "./types.ts";

export * from "./types.ts";
export { EmbeddedStore } from "./embedded.ts";
export { EtcdStore, DEFAULT_ETCD_PREFIX, statusPrefixFor } from "./etcd.ts";

export interface StoreConfig {
  /** etcd endpoints (http://host:port); a comma-separated string is accepted too. Empty/absent: embedded store. */
  etcdEndpoints?: string[] | string;
  /** Key prefix in etcd (default /hfi/policies/). */
  etcdPrefix?: string;
  /** Directory of the embedded store (default ./.hfi-data). */
  dataDir?: string;
  logger?: Logger;
}

export const DEFAULT_DATA_DIR = "./.hfi-data";

export async function createStore(config: StoreConfig = {}): Promise<PolicyStore> {
  const endpoints = (typeof config.etcdEndpoints === "string" ? config.etcdEndpoints.split(",") : config.etcdEndpoints ?? [])
    .map((e) => e.trim())
    .filter(Boolean)
    // "host:port" is taken as plain http, like etcdctl does.
    .map((e) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `http://${e}`));
  if (endpoints.length > 0) {
    return new EtcdStore({ endpoints, prefix: config.etcdPrefix || DEFAULT_ETCD_PREFIX, logger: config.logger });
  }
  return EmbeddedStore.open({ dataDir: config.dataDir ?? DEFAULT_DATA_DIR, logger: config.logger });
}
