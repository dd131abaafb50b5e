// Server configuration: every option has a flag, an env var and a default.
// SERVER_OPTIONS is the single list (the CLI builds its flags from it and the
// k8s manifests are cross-checked against it).
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { normalizeIp } from "./security/mesh.ts";

export interface ServerOption {
  /** Long flag, e.g. "--grpc-addr". */
  flag: string;
  env: string;
  /** Default as a string ("" = unset). */
  default: string;
  description: string;
  /** ServerConfig field this option sets. */
  key: keyof RawOptions;
  /** A switch: the flag takes no value (`--mesh-identity`); the env var takes true/false. */
  boolean?: true;
}

/** Option values as strings, before interpretation. */
interface RawOptions {
  grpcAddr: string;
  httpAddr: string;
  etcdEndpoints: string;
  etcdPrefix: string;
  dataDir: string;
  logLevel: string;
  apiTokenFile: string;
  apiToken: string;
  streamTokenFile: string;
  streamToken: string;
  replicaId: string;
  statusTtl: string;
  maxStoreBytes: string;
  workers: string;
  streamDrainTimeout: string;
  streamQueueBudget: string;
  maxDuration: string;
  defaultDuration: string;
  maxFaultSeries: string;
  allowUnauthenticated: string;
  meshIdentity: string;
  meshTrustedProxies: string;
  meshAdminPrincipals: string;
}

export const SERVER_OPTIONS: readonly ServerOption[] = [
  { flag: "--grpc-addr", env: "HFI_GRPC_ADDR", default: "127.0.0.1:9090", key: "grpcAddr", description: "gRPC listen address (PolicyService, ConfigDiscoveryService, health, reflection); port 0 picks a free port; a non-loopback address needs authentication (or --allow-unauthenticated)" },
  { flag: "--http-addr", env: "HFI_HTTP_ADDR", default: "127.0.0.1:8080", key: "httpAddr", description: "HTTP listen address (/healthz, /readyz, /metrics, REST /v1/...); port 0 picks a free port; a non-loopback address needs authentication (or --allow-unauthenticated)" },
  { flag: "--etcd-endpoints", env: "HFI_ETCD_ENDPOINTS", default: "", key: "etcdEndpoints", description: "comma-separated etcd endpoints; when set, policies live in etcd instead of the embedded store" },
  { flag: "--etcd-prefix", env: "HFI_ETCD_PREFIX", default: "/hfi/policies/", key: "etcdPrefix", description: "etcd key prefix for policies" },
  { flag: "--data-dir", env: "HFI_DATA_DIR", default: "./.hfi-data", key: "dataDir", description: "directory of the embedded store (used when no etcd endpoints are given)" },
  { flag: "--log-level", env: "HFI_LOG_LEVEL", default: "info", key: "logLevel", description: "log level: fatal, error, warn, info, debug, trace, silent" },
  { flag: "--api-token-file", env: "HFI_API_TOKEN_FILE", default: "", key: "apiTokenFile", description: "file holding the management API bearer token (PolicyService and REST), re-read when it changes; off when neither this nor HFI_API_TOKEN is set" },
  { flag: "--api-token", env: "HFI_API_TOKEN", default: "", key: "apiToken", description: "management API bearer token given directly (prefer the file or the env var: flags show up in ps)" },
  { flag: "--stream-token-file", env: "HFI_STREAM_TOKEN_FILE", default: "", key: "streamTokenFile", description: "file holding the token filters must present on StreamConfig, re-read when it changes; off when neither this nor HFI_STREAM_TOKEN is set" },
  { flag: "--stream-token", env: "HFI_STREAM_TOKEN", default: "", key: "streamToken", description: "filter stream token given directly (prefer the file or the env var)" },
  { flag: "--replica-id", env: "HFI_REPLICA_ID", default: "", key: "replicaId", description: "this replica's name in policy status and in etcd status keys (e.g. the pod name); default hostname-pid-random" },
  { flag: "--status-ttl", env: "HFI_STATUS_TTL", default: "15", key: "statusTtl", description: "seconds after which a dead replica's proxies leave the status of the others (etcd lease TTL, 1-300)" },
  { flag: "--max-store-bytes", env: "HFI_MAX_STORE_BYTES", default: "67108864", key: "maxStoreBytes", description: "total size limit of the stored policies in bytes (default 64 MiB); an apply past it fails RESOURCE_EXHAUSTED" },
  { flag: "--workers", env: "HFI_WORKERS", default: "", key: "workers", description: "processes serving gRPC and config streams (1-64; 1 = everything in one process); default: 1 below 4 cores, else cores - 1" },
  { flag: "--stream-drain-timeout", env: "HFI_STREAM_DRAIN_TIMEOUT", default: "30", key: "streamDrainTimeout", description: "seconds a config stream may stay backed up (not reading) before it is closed with RESOURCE_EXHAUSTED (1-3600)" },
  { flag: "--stream-queue-budget", env: "HFI_STREAM_QUEUE_BUDGET", default: "64", key: "streamQueueBudget", description: "MiB of snapshot bytes queued on backed-up config streams per worker before further writes wait (1-4096)" },
  { flag: "--max-duration", env: "HFI_MAX_DURATION", default: "", key: "maxDuration", description: "longest fault.duration_seconds an apply may set (1-31536000 seconds); rules without one get --default-duration; default: off (no limit, rules may run until deleted)" },
  { flag: "--default-duration", env: "HFI_DEFAULT_DURATION", default: "", key: "defaultDuration", description: "duration_seconds given to rules that set none, when --max-duration is set (at most --max-duration); default: --max-duration" },
  { flag: "--max-fault-series", env: "HFI_MAX_FAULT_SERIES", default: "2000", key: "maxFaultSeries", description: "label sets (policy, rule, abort status, service, namespace) of fault counts per process (1-100000); further ones are counted under policy=\"_overflow\"" },
  { flag: "--mesh-identity", env: "HFI_MESH_IDENTITY", default: "false", key: "meshIdentity", boolean: true, description: "trust the caller's SPIFFE ID in x-forwarded-client-cert from the local sidecar (--mesh-trusted-proxies): a config stream's identity claim must match its namespace (and service account), management calls need an admin principal (--mesh-admin-principals) or the API token" },
  { flag: "--mesh-trusted-proxies", env: "HFI_MESH_TRUSTED_PROXIES", default: "127.0.0.6", key: "meshTrustedProxies", description: "comma-separated source IPs whose x-forwarded-client-cert is believed (the local sidecar; Istio's inbound source address is 127.0.0.6)" },
  { flag: "--mesh-admin-principals", env: "HFI_MESH_ADMIN_PRINCIPALS", default: "", key: "meshAdminPrincipals", description: "comma-separated SPIFFE IDs allowed to call the management API under --mesh-identity (spiffe://cluster.local/ns/boifi/sa/hfi-admin or cluster.local/ns/boifi/sa/hfi-admin)" },
  { flag: "--allow-unauthenticated", env: "HFI_ALLOW_UNAUTHENTICATED", default: "false", key: "allowUnauthenticated", boolean: true, description: "start on a non-loopback address with no authentication (or with an open config stream); logs a warning at every start" },
];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  grpcAddr: string;
  httpAddr: string;
  /** Empty: embedded store in dataDir. */
  etcdEndpoints: string[];
  etcdPrefix: string;
  dataDir: string;
  logLevel: LogLevel;
  /** Management API token (the file's content at start when apiTokenFile is set); undefined = no token. */
  apiToken?: string;
  /** Re-read on change (server/security/tokens.ts). */
  apiTokenFile?: string;
  /** Filter stream token; undefined = no token. */
  streamToken?: string;
  streamTokenFile?: string;
  /** Accept the SPIFFE ID the local sidecar forwards (server/security/mesh.ts). */
  meshIdentity: boolean;
  /** Source IPs whose x-forwarded-client-cert is believed. */
  meshTrustedProxies: string[];
  /** SPIFFE IDs (without "spiffe://") allowed to manage policies under meshIdentity. */
  meshAdminPrincipals: string[];
  /** Start even where something is open to the network (warns at every start). */
  allowUnauthenticated: boolean;
  /** "" = generated at start (hostname-pid-random). */
  replicaId: string;
  /** TTL of this replica's proxy status records in etcd. */
  statusTtlSeconds: number;
  /** Total size limit of the stored policies (bytes of stored JSON). */
  maxStoreBytes: number;
  /** Processes serving gRPC (1: one process, no cluster). */
  workers: number;
  streamDrainTimeoutMs: number;
  streamQueueBudgetBytes: number;
  /** Duration limit of rules (seconds); undefined = none. */
  maxDurationSeconds?: number;
  /** duration_seconds of rules that set none (only with maxDurationSeconds; unset = maxDurationSeconds). */
  defaultDurationSeconds?: number;
  /** Cardinality bound of the fault counts per process. */
  maxFaultSeries: number;
}

/**
 * The --workers default: one process below 4 cores, else cores - 1. Measured on 2 cores, a primary
 * plus 2 workers cost more CPU and memory per stream than one process (docs/benchmarks.md), and
 * the filters' own connections and the primary's store/HTTP work need a core of their own.
 */
export function defaultWorkers(cores = os.availableParallelism()): number {
  if (cores < 4) return 1;
  return Math.min(64, cores - 1);
}

function intOption(flag: string, raw: string, min: number, max: number, unit = ""): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${flag}: must be an integer between ${min} and ${max}${unit} (got "${raw}")`);
  return n;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export const DEFAULT_CONFIG: ServerConfig = loadServerConfig({}, {});

/** Camel-case commander key of a flag ("--grpc-addr" → "grpcAddr"). */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Flags win over env vars, env vars over defaults. `flags` uses commander's
 * camelCase keys (grpcAddr, apiTokenFile, ...); unset flags are undefined.
 * A token file wins over a token given directly.
 */
export function loadServerConfig(
  flags: Partial<Record<string, string | undefined>>,
  env: Record<string, string | undefined> = process.env,
): ServerConfig {
  const raw = {} as RawOptions;
  for (const o of SERVER_OPTIONS) {
    const f = flags[flagKey(o.flag)] as string | boolean | undefined;
    const e = env[o.env];
    raw[o.key] = f !== undefined ? String(f) : e !== undefined && e !== "" ? e : o.default;
  }
  const level = raw.logLevel.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`--log-level: must be one of ${LOG_LEVELS.join(", ")} (got "${raw.logLevel}")`);
  }
  checkAddr("--grpc-addr", raw.grpcAddr);
  checkAddr("--http-addr", raw.httpAddr);
  const ttl = Number(raw.statusTtl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 300) {
    throw new ConfigError(`--status-ttl: must be an integer between 1 and 300 seconds (got "${raw.statusTtl}")`);
  }
  const maxStoreBytes = Number(raw.maxStoreBytes);
  if (!Number.isSafeInteger(maxStoreBytes) || maxStoreBytes < 65536) {
    throw new ConfigError(`--max-store-bytes: must be an integer of at least 65536 bytes (got "${raw.maxStoreBytes}")`);
  }
  const workers = raw.workers.trim() === "" ? defaultWorkers() : intOption("--workers", raw.workers.trim(), 1, 64);
  const drain = intOption("--stream-drain-timeout", raw.streamDrainTimeout.trim(), 1, 3600, " seconds");
  const budget = intOption("--stream-queue-budget", raw.streamQueueBudget.trim(), 1, 4096, " MiB");
  const maxDuration = raw.maxDuration.trim() === "" ? undefined : intOption("--max-duration", raw.maxDuration.trim(), 1, 31_536_000, " seconds");
  let defaultDuration: number | undefined;
  // Unset, it is --max-duration: durationLimitOf (duration-limit.ts) applies that for every way of starting.
  if (raw.defaultDuration.trim() !== "") {
    if (maxDuration === undefined) throw new ConfigError("--default-duration: needs --max-duration");
    defaultDuration = intOption("--default-duration", raw.defaultDuration.trim(), 1, maxDuration, " seconds (--max-duration)");
  }
  const maxFaultSeries = intOption("--max-fault-series", raw.maxFaultSeries.trim(), 1, 100_000);
  const list = (v: string) =>
    v
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const config: ServerConfig = {
    maxFaultSeries,
    ...(maxDuration !== undefined ? { maxDurationSeconds: maxDuration } : {}),
    ...(defaultDuration !== undefined ? { defaultDurationSeconds: defaultDuration } : {}),
    workers,
    streamDrainTimeoutMs: drain * 1000,
    streamQueueBudgetBytes: budget * 1024 * 1024,
    grpcAddr: raw.grpcAddr,
    httpAddr: raw.httpAddr,
    etcdEndpoints: raw.etcdEndpoints
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    etcdPrefix: raw.etcdPrefix,
    dataDir: raw.dataDir,
    logLevel: level as LogLevel,
    apiToken: token("--api-token-file", raw.apiTokenFile, raw.apiToken),
    ...(raw.apiTokenFile ? { apiTokenFile: raw.apiTokenFile } : {}),
    streamToken: token("--stream-token-file", raw.streamTokenFile, raw.streamToken),
    ...(raw.streamTokenFile ? { streamTokenFile: raw.streamTokenFile } : {}),
    replicaId: raw.replicaId.trim(),
    statusTtlSeconds: ttl,
    maxStoreBytes,
    meshIdentity: bool("--mesh-identity", raw.meshIdentity),
    meshTrustedProxies: list(raw.meshTrustedProxies).map((a) => trustedProxy(a)),
    meshAdminPrincipals: list(raw.meshAdminPrincipals).map((p) => adminPrincipal(p)),
    allowUnauthenticated: bool("--allow-unauthenticated", raw.allowUnauthenticated),
  };
  // Exposure is checked at start (startServer / startPrimary), which every configuration goes through.
  return config;
}

function bool(flag: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off", ""].includes(v)) return false;
  throw new ConfigError(`${flag}: must be true or false (got "${raw}")`);
}

function trustedProxy(a: string): string {
  if (net.isIP(a) === 0) throw new ConfigError(`--mesh-trusted-proxies: "${a}" is not an IP address`);
  return normalizeIp(a);
}

function adminPrincipal(p: string): string {
  const id = p.replace(/^spiffe:\/\//, "");
  if (!/^[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(id)) {
    throw new ConfigError(`--mesh-admin-principals: "${p}" is not a SPIFFE ID of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`);
  }
  return id;
}

function token(flag: string, file: string, direct: string): string | undefined {
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
    const t = text.trim();
    if (!t) throw new ConfigError(`${flag}: ${file} is empty`);
    return t;
  }
  return direct.trim() || undefined;
}

/** "host:port" (IPv6 as "[::]:port"), port 0-65535. */
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) throw new ConfigError(`bad address "${addr}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`bad address "${addr}": port must be 0-65535`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

function checkAddr(flag: string, addr: string): void {
  try {
    parseAddr(addr);
  } catch (err) {
    throw new ConfigError(`${flag}: ${(err as Error).message}`);
  }
}
