// GetPolicyStatus as both APIs answer it: gRPC returns the report as the
// response message, REST (`GET /v1/policies/status`) as JSON. One function,
// so the two cannot drift apart.
import * as grpc from "@grpc/grpc-js";
import type { GetPolicyStatusResponse } from "../../proto/gen/hfi/v1/GetPolicyStatusResponse.ts";
import { ApiError } from "../errors.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { PolicyView } from "../distribution/view.ts";
import { invalidMessage } from "../grpc/list-policies.ts";
import { pauseMessage } from "../pause/ops.ts";
import { isPolicyPaused } from "../pause/state.ts";
import { collectStatus, proxyLimit, type StatusSource } from "./report.ts";

export interface PolicyStatusDeps {
  ops: PolicyOps;
  view: PolicyView;
  proxies: StatusSource;
}

export interface PolicyStatusRequest {
  /** One policy; "" = every policy (and the store's invalid entries). */
  name: string;
  /** As the caller gave it (0 = the default); checked by proxyLimit. */
  proxyLimit: number;
}

/** The status report; `partial` set when only this replica's proxies could be read (trailer / header). */
export async function policyStatus(deps: PolicyStatusDeps, req: PolicyStatusRequest): Promise<{ report: GetPolicyStatusResponse; partial?: string }> {
  const limit = proxyLimit(req.proxyLimit);
  let policies = deps.view.list();
  if (req.name) {
    policies = policies.filter((p) => p.policy.metadata!.name === req.name);
    if (!policies.length) throw new ApiError(grpc.status.NOT_FOUND, 404, `policy "${req.name}" not found`);
  }
  const { report: raw, partial } = await collectStatus(policies, deps.proxies, limit);
  const pause = deps.view.pause;
  const report = {
    ...raw,
    policies: raw.policies.map((p) => ({ ...p, paused: isPolicyPaused(pause, p.name) })),
    pause: pauseMessage(pause),
  };
  // Invalid entries are the store's to tell (the view never holds them); a store outage leaves them out.
  const invalid = req.name ? [] : await deps.ops.listInvalid().catch(() => []);
  return { report: { ...report, invalidPolicies: invalid.map(invalidMessage) }, ...(partial ? { partial } : {}) };
}
