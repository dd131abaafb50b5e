// The caller of a REST request, as server/security sees it.
import type http from "node:http";
import { XFCC_HEADER, type Caller } from "../security/access.ts";

export function httpCaller(req: http.IncomingMessage): Caller {
  return { authorization: req.headers.authorization, xfcc: req.headers[XFCC_HEADER], remoteAddress: req.socket.remoteAddress };
}
