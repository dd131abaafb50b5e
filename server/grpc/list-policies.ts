// ListPolicies in pages: each response stays well under gRPC's 4 MiB message
// cap whatever the store holds, and the page token carries where the next
// page starts and the revision the listing started at.
import * as grpc from "@grpc/grpc-js";
import type { ListPoliciesResponse } from "../../proto/gen/hfi/v1/ListPoliciesResponse.ts";
import type { InvalidPolicy } from "../../proto/gen/hfi/v1/InvalidPolicy.ts";
import { ApiError } from "../errors.ts";
import { encodedSize } from "../../policy/index.ts";
import type { PolicyOps } from "../policy-ops.ts";
import type { InvalidEntry } from "../store/types.ts";

/** A response stops growing past this many bytes (JSON size, an upper bound of the protobuf size). */
export const LIST_PAGE_MAX_BYTES = 3 * 1024 * 1024;
/** Entries asked of the store per read. */
const STORE_PAGE = 1000;

interface Token {
  /** Last name returned. */
  a: string;
  /** Revision of the listing's first page. */
  r: number;
}

export function encodePageToken(t: Token): string {
  return Buffer.from(JSON.stringify(t), "utf8").toString("base64url");
}

function decodePageToken(token: string): Token {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<Token>;
    if (typeof t.a === "string" && t.a && Number.isSafeInteger(t.r) && t.r! >= 0) return t as Token;
  } catch {
    /* fall through */
  }
  throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, "page_token: not a token returned by ListPolicies (next_page_token)", [
    { path: "page_token", reason: "not a token returned by ListPolicies (next_page_token)" },
  ]);
}

export function invalidMessage(e: InvalidEntry): InvalidPolicy {
  return { name: e.name, version: e.version, error: e.error, sizeBytes: e.bytes };
}

/** One ListPolicies response. */
export async function listPoliciesPage(
  ops: PolicyOps,
  req: { pageSize?: number; pageToken?: string },
): Promise<ListPoliciesResponse> {
  if ((req.pageSize ?? 0) < 0)
    throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, "page_size: must not be negative", [
      { path: "page_size", reason: "must not be negative" },
    ]);
  const maxEntries = req.pageSize || Infinity;
  const token = req.pageToken ? decodePageToken(req.pageToken) : undefined;
  let after = token?.a;
  let revision = token?.r ?? 0;
  const res: ListPoliciesResponse = { policies: [], invalidPolicies: [], revision: 0, nextPageToken: "" };
  let bytes = 0;
  let count = 0;
  for (;;) {
    const page = await ops.listPage(after, Math.min(STORE_PAGE, maxEntries - count));
    revision ||= page.revision;
    // Merge the page's valid and invalid entries back into name order.
    const entries = [
      ...page.policies.map((p) => ({ name: p.policy.metadata!.name, size: encodedSize(p.policy), policy: p.policy })),
      ...page.invalid.map((e) => ({ name: e.name, size: e.error.length + e.name.length + 32, invalid: e })),
    ].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      // Always at least one entry per response, so a listing always advances.
      if (count > 0 && (bytes + e.size > LIST_PAGE_MAX_BYTES || count >= maxEntries)) {
        res.nextPageToken = encodePageToken({ a: after!, r: revision });
        res.revision = revision;
        return res;
      }
      if ("policy" in e) res.policies!.push(e.policy);
      else res.invalidPolicies!.push(invalidMessage(e.invalid!));
      bytes += e.size + 16;
      count++;
      after = e.name;
    }
    if (!page.next) break;
    after = page.next;
    if (count >= maxEntries) {
      res.nextPageToken = encodePageToken({ a: after, r: revision });
      break;
    }
  }
  res.revision = revision;
  return res;
}
