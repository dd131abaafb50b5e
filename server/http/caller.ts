// The caller of a REST request, as server/security sees it.
import type http from "node:http";
import { XFCC_HEADER, type Access, type Caller } from "../security/access.ts";

export function httpCaller(req: http.IncomingMessage): Caller {
  return { authorization: req.headers.authorization, xfcc: req.headers[XFCC_HEADER], remoteAddress: req.socket.remoteAddress };
}

/** Throws the ApiError of a refused management call (401 with www-authenticate: Bearer, or 403). */
export function authorizeHttp(access: Access, req: http.IncomingMessage, res: http.ServerResponse): void {
  try {
    access.management(httpCaller(req));
  } catch (err) {
    if ((err as { httpStatus?: number }).httpStatus === 401) res.setHeader("www-authenticate", "Bearer");
    throw err;
  }
}
