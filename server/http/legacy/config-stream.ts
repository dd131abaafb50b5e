// GET /v1/config/stream: the old control plane's server-sent events
// (kalahetun/Minesweeper executor/control-plane/main.go sseHandler and
// distributor.go): `event: full_config` with every policy (a JSON array of
// the old structs) on connect, `event: update` with the whole list again
// after each change, `: keepalive` every 30 s. Fed by the replica's view,
// so it keeps serving the last good list while the store is down. A slow
// reader holds at most one pending list (the newest).
import type http from "node:http";
import type { PolicyView } from "../../distribution/view.ts";
import { fromHfi, widening } from "./convert.ts";
import { goJson } from "./go-json.ts";
import { marshalPolicy } from "./go-structs.ts";

export const KEEPALIVE_MS = 30_000;

/** configJson per view, at the view's store revision: N old plugins cost one marshal per change, not N. */
const built = new WeakMap<PolicyView, { revision: number; json: string }>();

/** The distributor's config: json.Marshal(store.List()), widening policies left out as in GET /v1/policies. */
export function configJson(view: PolicyView): string {
  const cached = built.get(view);
  if (cached && cached.revision === view.revision) return cached.json;
  const json = goJson(view.list().filter((p) => widening(p.policy).length === 0).map((p) => marshalPolicy(fromHfi(p.policy))));
  built.set(view, { revision: view.revision, json });
  return json;
}

export function serveConfigStream(view: PolicyView, req: http.IncomingMessage, res: http.ServerResponse, keepaliveMs = KEEPALIVE_MS): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "access-control-allow-origin": "*",
  });
  let pending: string | undefined;
  let last = "";
  const write = (frame: string) => {
    if (res.writableNeedDrain) {
      pending = frame; // the newest replaces an unsent one
      return;
    }
    res.write(frame);
  };
  res.on("drain", () => {
    if (pending === undefined) return;
    const f = pending;
    pending = undefined;
    res.write(f);
  });
  last = configJson(view);
  write(`event: full_config\ndata: ${last}\n\n`);
  const onChange = () => {
    const next = configJson(view);
    if (next === last) return;
    last = next;
    write(`event: update\ndata: ${next}\n\n`);
  };
  view.on("change", onChange);
  const timer = setInterval(() => write(": keepalive\n\n"), keepaliveMs);
  timer.unref();
  const done = () => {
    clearInterval(timer);
    view.off("change", onChange);
  };
  req.on("close", done);
  res.on("close", done);
}
