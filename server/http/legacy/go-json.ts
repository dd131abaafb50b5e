// Responses as the old control plane wrote them: gin's c.JSON is Go's
// json.Marshal (HTML characters escaped, no trailing newline) with
// content-type "application/json; charset=utf-8". Struct fields come out in
// declaration order (the callers build objects in that order); gin.H and
// other Go maps come out with sorted keys (goMap).
import type http from "node:http";

/** json.Marshal's escaping: <, >, & and U+2028/U+2029 as \uXXXX. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A Go map (gin.H, map[string]interface{}): keys sorted as json.Marshal sorts them. */
export function goMap(entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(entries).sort()) if (entries[k] !== undefined) out[k] = entries[k];
  return out;
}

export function sendGo(res: http.ServerResponse, status: number, body: unknown): void {
  const text = goJson(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** What gin answers for an unknown route or a method no route has (HandleMethodNotAllowed off). */
export function sendGinNotFound(res: http.ServerResponse): void {
  const text = "404 page not found";
  res.writeHead(404, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
