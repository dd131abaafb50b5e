// Waiting for convergence (apply/delete --wait): poll GetPolicyStatus until
// every targeted proxy has ACKed the new version (or, after a delete, no
// proxy holds the policy any more), fail at once on a NACK, and on the
// deadline list the proxies that did not get there.
import type { GetPolicyStatusResponseOut, PolicyStatusOut, ProxyRefOut, ProxyStatusOut } from "../../proto/types.ts";
import { HfiClientError } from "./errors.ts";

/** `wait: true` waits this long (ms). */
export const DEFAULT_WAIT_MS = 60_000;
/** Between two status reads. */
const POLL_MS = 100;
/** Proxies named in an error message at most (the rest are counted). */
const MAX_LISTED = 20;

/**
 * The policy did not converge: `code` DEADLINE_EXCEEDED (timeout) or
 * FAILED_PRECONDITION (a proxy NACKed it). `pending` / `nacked`: the proxies
 * that had not ACKed / that rejected it, with their reason.
 */
export class ConvergenceError extends HfiClientError {
  constructor(
    code: "DEADLINE_EXCEEDED" | "FAILED_PRECONDITION",
    message: string,
    readonly pending: ProxyRefOut[],
    readonly nacked: ProxyRefOut[],
    server: string,
  ) {
    super(code, message, [], server);
    this.name = "ConvergenceError";
  }
}

export function waitMs(wait: boolean | number | undefined): number | undefined {
  if (wait === undefined || wait === false) return undefined;
  return wait === true ? DEFAULT_WAIT_MS : wait;
}

const proxyName = (r: ProxyRefOut) => r.identity?.proxyId || r.identity?.pod || r.identity?.service || "(unnamed proxy)";

function listed(refs: ProxyRefOut[], total: number, withError: boolean): string {
  const shown = refs.slice(0, MAX_LISTED).map((r) => (withError && r.error ? `${proxyName(r)} (${r.error})` : proxyName(r)));
  if (total > shown.length) shown.push(`and ${total - shown.length} more`);
  return shown.join(", ");
}

type Status = (name?: string, opts?: { proxyLimit?: number }) => Promise<GetPolicyStatusResponseOut>;

/** The server's largest proxy_limit: a delete is done only when every proxy was looked at. */
const ALL_PROXIES = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the policy's status once every targeted proxy ACKed `version` (or a later one). */
/**
 * `timeoutMs` is the wait the user asked for (and what errors name); `deadline` ends it, later
 * than now + timeoutMs never: a command waiting for several policies shares one deadline.
 */
export async function waitApplied(status: Status, name: string, version: number, timeoutMs: number, server: string, deadline = Date.now() + timeoutMs): Promise<PolicyStatusOut> {
  let last: PolicyStatusOut | undefined;
  for (;;) {
    try {
      last = (await status(name)).policies.find((p) => p.name === name);
    } catch (err) {
      // The replica's view may not have the new policy yet.
      if (!(err instanceof HfiClientError && err.code === "NOT_FOUND")) throw err;
    }
    if (last && last.version >= version) {
      if (last.nackedCount > 0) {
        throw new ConvergenceError(
          "FAILED_PRECONDITION",
          `policy "${name}" version ${last.version} was rejected by ${last.nackedCount} of ${last.targetedProxies} proxies: ${listed(last.nacked, last.nackedCount, true)}`,
          last.pending,
          last.nacked,
          server,
        );
      }
      if (last.pendingCount === 0 && last.ackedCount >= last.targetedProxies) return last;
    }
    if (Date.now() >= deadline) {
      const pending = last && last.version >= version ? last.pending : [];
      const count = last && last.version >= version ? last.pendingCount : 0;
      const what = count
        ? `${count} of ${last!.targetedProxies} proxies have not ACKed it: ${listed(pending, count, false)}`
        : `the server has not reported version ${version} yet`;
      throw new ConvergenceError("DEADLINE_EXCEEDED", `policy "${name}" version ${version} not applied within ${timeoutMs} ms: ${what}`, pending, [], server);
    }
    await sleep(POLL_MS);
  }
}

const ref = (p: ProxyStatusOut, error = ""): ProxyRefOut => ({ identity: p.identity, error });

/** Resolves once no listed proxy holds `name` in its last snapshot and each ACKed the snapshot without it. */
export async function waitDeleted(status: Status, name: string, timeoutMs: number, server: string, deadline = Date.now() + timeoutMs): Promise<void> {
  for (;;) {
    const st = await status("", { proxyLimit: ALL_PROXIES });
    const pending: ProxyRefOut[] = [];
    const nacked: ProxyRefOut[] = [];
    for (const p of st.proxies) {
      const holds = p.policies.includes(name);
      if (!holds && p.sentVersion && p.nackedVersion === p.sentVersion) nacked.push(ref(p, p.nackError));
      else if (holds || p.ackedVersion !== p.sentVersion) pending.push(ref(p));
    }
    if (nacked.length)
      throw new ConvergenceError(
        "FAILED_PRECONDITION",
        `the snapshot without policy "${name}" was rejected by ${nacked.length} proxies: ${listed(nacked, nacked.length, true)}`,
        pending,
        nacked,
        server,
      );
    // Proxies past the listed ones may still hold it: not done until every proxy was listed.
    if (pending.length === 0 && (st.proxiesTotal ?? st.proxies.length) <= st.proxies.length) return;
    if (Date.now() >= deadline)
      throw new ConvergenceError(
        "DEADLINE_EXCEEDED",
        `deletion of policy "${name}" not applied within ${timeoutMs} ms: ${pending.length} proxies still hold it or have not ACKed: ${listed(pending, pending.length, false)}`,
        pending,
        [],
        server,
      );
    await sleep(POLL_MS);
  }
}
