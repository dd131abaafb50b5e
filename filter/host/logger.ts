// The host logs through a pino-style logger; guest proxy_log lines go to it
// at the matching level.
import pino from "pino";
import { LogLevel, type LogLevelName } from "./abi.ts";

type LogFn = (obj: object, msg?: string) => void;
export interface HostLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** Optional (console has none): critical lines go to error then. */
  fatal?: LogFn;
  level?: string;
}

export function defaultLogger(level: LogLevelName = "info"): HostLogger {
  return pino({ name: "hfi-host", level: level === "critical" ? "fatal" : level });
}

/** The proxy-wasm level a pino level string corresponds to. */
export function levelOf(logger: HostLogger, fallback: LogLevelName): number {
  const l = logger.level;
  if (l === "fatal") return LogLevel.critical;
  if (l === "silent") return LogLevel.critical + 1;
  if (l && l in LogLevel) return LogLevel[l as LogLevelName];
  return LogLevel[fallback];
}

export function logAt(logger: HostLogger, level: number, obj: object, msg: string): void {
  if (level <= LogLevel.trace) logger.trace(obj, msg);
  else if (level === LogLevel.debug) logger.debug(obj, msg);
  else if (level === LogLevel.info) logger.info(obj, msg);
  else if (level === LogLevel.warn) logger.warn(obj, msg);
  else if (level === LogLevel.error) logger.error(obj, msg);
  else (logger.fatal ?? logger.error).call(logger, obj, msg);
}
