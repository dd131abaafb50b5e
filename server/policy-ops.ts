// Apply / get / list / delete with the semantics both APIs share (CAS,
// create-only, dry run, unchanged detection). Validation and normalisation
// are policy/'s; storage is the PolicyStore's.
import type { PolicyOut } from "../proto/loader.ts";
import { LIMITS, messageType, parsePolicyInput, policyExpiry, PolicyValidationError, setFields, validateName } from "../policy/index.ts";
import { StoreError, type DeleteResult, type InvalidEntry, type ListPage, type PolicyStore, type StoredPolicy } from "./store/types.ts";
import type { Metrics } from "./metrics.ts";

export type ApplyResult = "APPLY_RESULT_CREATED" | "APPLY_RESULT_CONFIGURED" | "APPLY_RESULT_UNCHANGED";

export interface ApplyOptions {
  expectedVersion?: number;
  createOnly?: boolean;
  dryRun?: boolean;
}

export interface ApplyOutcome {
  policy: PolicyOut;
  result: ApplyResult;
}

/** Stable JSON (sorted keys) of a value, for content comparison. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The user-controlled content of a policy: name, labels, version label and spec. */
function content(p: PolicyOut): string {
  return canonicalJson({
    name: p.metadata?.name,
    labels: p.metadata?.labels ?? {},
    versionLabel: p.metadata?.versionLabel ?? "",
    spec: setFields(messageType("PolicySpec"), p.spec),
  });
}

export interface PolicyOpsHooks {
  /** Before a store write of `name` (apply→push latency). */
  writeStart?(name: string): void;
  writeFailed?(name: string): void;
}

export interface PolicyOpsOptions {
  /** Total size limit of the store in bytes (default LIMITS.maxTotalPolicyBytes). */
  maxTotalBytes?: number;
}

export class PolicyOps {
  private readonly maxTotalBytes: number;
  constructor(
    private readonly store: PolicyStore,
    private readonly metrics: Metrics,
    private readonly hooks: PolicyOpsHooks = {},
    opts: PolicyOpsOptions = {},
  ) {
    this.maxTotalBytes = opts.maxTotalBytes ?? LIMITS.maxTotalPolicyBytes;
  }

  /** Counts failures of the store itself (not conflicts or missing names). */
  private async storeOp<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError && err.code !== "unavailable") throw err;
      this.metrics.storeErrors.inc({ op });
      if (err instanceof StoreError) throw err;
      throw new StoreError("unavailable", `store ${op} failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  parse(input: unknown): PolicyOut {
    const r = parsePolicyInput(input);
    if (!r.ok) throw new PolicyValidationError(r.errors);
    return r.policy;
  }

  async apply(input: unknown, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
    const policy = this.parse(input);
    const name = policy.metadata!.name;
    const existing = await this.storeOp("get", () => this.store.get(name));
    if (opts.createOnly && existing) {
      throw new StoreError("already_exists", `policy "${name}" already exists (version ${existing.version})`);
    }
    if (opts.expectedVersion && (existing?.version ?? 0) !== opts.expectedVersion) {
      throw new StoreError(
        "conflict",
        existing
          ? `policy "${name}" is at version ${existing.version}, expected ${opts.expectedVersion}`
          : `policy "${name}" does not exist, expected version ${opts.expectedVersion}`,
      );
    }
    if (existing && content(existing.policy) === content(policy)) {
      return { policy: existing.policy, result: "APPLY_RESULT_UNCHANGED" };
    }
    const result: ApplyResult = existing ? "APPLY_RESULT_CONFIGURED" : "APPLY_RESULT_CREATED";
    if (opts.dryRun) return { policy: wouldBe(policy, existing), result };
    const ttlSeconds = policyExpiry(policy);
    this.hooks.writeStart?.(name);
    try {
      // Without expected_version/create_only the write is unconditional (last
      // writer wins) and the store says whether it created the name.
      const stored = await this.storeOp("put", () =>
        this.store.put(policy, {
          expectedVersion: opts.expectedVersion || undefined,
          createOnly: opts.createOnly || undefined,
          ttlSeconds,
          maxTotalBytes: this.maxTotalBytes,
        }),
      );
      return { policy: stored.policy, result: stored.created ? "APPLY_RESULT_CREATED" : "APPLY_RESULT_CONFIGURED" };
    } catch (err) {
      this.hooks.writeFailed?.(name);
      throw err;
    }
  }

  /** Names reach the store (keys, files) only when they are valid policy names. */
  private checkName(name: string): void {
    const reason = validateName(name);
    if (reason) throw new PolicyValidationError([{ path: "name", reason }]);
  }

  async get(name: string): Promise<StoredPolicy> {
    this.checkName(name);
    const p = await this.storeOp("get", () => this.store.get(name));
    if (p) return p;
    // Say so when the name holds a value that is not a valid policy.
    const bad = (await this.store.listInvalid().catch(() => [])).find((e) => e.name === name);
    throw new StoreError(
      "not_found",
      bad
        ? `policy "${name}" not found: the store holds an invalid value under this name (version ${bad.version}: ${bad.error}); deleting "${name}" removes it`
        : `policy "${name}" not found`,
    );
  }

  async list(): Promise<{ policies: StoredPolicy[]; revision: number }> {
    return this.storeOp("list", () => this.store.list());
  }

  /** One page in name order (invalid entries included), for paged listings. */
  async listPage(after: string | undefined, limit: number): Promise<ListPage> {
    if (after) this.checkName(after);
    return this.storeOp("list", () => this.store.listPage({ after, limit }));
  }

  /** Values under policy names that do not validate (written by another tool). */
  async listInvalid(): Promise<InvalidEntry[]> {
    return this.storeOp("list", () => this.store.listInvalid());
  }

  /** Deletes a policy, or an invalid entry of that name. */
  async delete(name: string, expectedVersion?: number): Promise<DeleteResult> {
    this.checkName(name);
    this.hooks.writeStart?.(name);
    try {
      return await this.storeOp("delete", () => this.store.delete(name, { expectedVersion: expectedVersion || undefined }));
    } catch (err) {
      this.hooks.writeFailed?.(name);
      throw err;
    }
  }
}

/** What a dry run reports: the normalised policy with the metadata a write would keep. */
function wouldBe(policy: PolicyOut, existing: StoredPolicy | undefined): PolicyOut {
  const md = existing?.policy.metadata;
  return {
    ...policy,
    metadata: {
      ...policy.metadata!,
      version: md?.version ?? 0,
      createdAtUnixMs: md?.createdAtUnixMs ?? 0,
      updatedAtUnixMs: md?.updatedAtUnixMs ?? 0,
      expiresAtUnixMs: md?.expiresAtUnixMs ?? 0,
    },
  };
}
