// Structured JSON logs (pino) for the control plane.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string = "info", name = "hfi-server"): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
