// What every `hfi policy` subcommand shares: the connection flags, the
// output flag, error reporting and exit codes (0 ok, 1 failure; commander
// usage errors become 2 in cli/main.ts).
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { createPolicyClient, DEFAULT_SERVER, HfiClientError, type PolicyClient } from "../client/index.ts";
import { InputError } from "./input.ts";
import { colorEnabled, painter } from "./style.ts";

export type OutputFormat = "table" | "json" | "yaml";

export interface GlobalOptions {
  server: string;
  /** The old hfi-cli's flag (http://HOST:PORT); wins over --server when given. */
  controlPlaneAddr?: string;
  token?: string;
  timeout: number;
}

/** Failures already explained to the user (message printed as is, exit 1). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly lines: string[] = [],
  ) {
    super(message);
  }
}

/** "10s", "500ms", "1m", "2" (seconds) → milliseconds. */
export function parseTimeout(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("expected a duration like 10s, 500ms or 1m");
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new InvalidArgumentError("must be greater than 0");
  return Math.round(ms);
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError("expected a whole number >= 0");
  return Number(value);
}

export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError("expected a whole number >= 1");
  return Number(value);
}

/**
 * A compare-and-swap that lost (ABORTED): the message names the version the
 * caller expected and the one stored now.
 */
export async function casConflict(client: PolicyClient, name: string, expected: number): Promise<CliError> {
  let now: string;
  try {
    now = String((await client.getPolicy(name)).metadata?.version ?? "?");
  } catch (err) {
    if (!(err instanceof HfiClientError && err.code === "NOT_FOUND")) throw err;
    now = "it does not exist";
  }
  return new CliError(`policy "${name}" changed since version ${expected} (now ${now}): re-read and retry`);
}

/** The connection flags, declared on `hfi policy` and read by every subcommand. */
export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--server <host:port,...>", "control plane gRPC address(es); several comma-separated fail over in order")
        .env("HFI_SERVER")
        .default(DEFAULT_SERVER),
    )
    .addOption(
      new Option("--control-plane-addr <url,...>", "the old hfi-cli's flag, same as --server (http://HOST:PORT accepted; HFI's API is the gRPC port)"),
    )
    .addOption(new Option("--token <token>", "bearer token for the management API").env("HFI_TOKEN"))
    .addOption(
      new Option("--timeout <duration>", "deadline of each call (e.g. 10s, 500ms, 1m)")
        .default(10_000, "10s")
        .argParser(parseTimeout),
    );
}

export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table");
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as GlobalOptions;
  return { server: o.controlPlaneAddr || o.server || DEFAULT_SERVER, token: o.token || undefined, timeout: o.timeout };
}

export function connect(cmd: Command): PolicyClient {
  const g = globals(cmd);
  return createPolicyClient({ server: g.server, token: g.token, timeoutMs: g.timeout });
}

/** Prints an error the way the CLI reports every failure: "error: ..." on stderr. */
export function reportError(err: unknown): void {
  const paint = painter(colorEnabled(process.stderr));
  const prefix = paint("red", "error:");
  if (err instanceof CliError) {
    process.stderr.write(`${prefix} ${err.message}\n`);
    for (const l of err.lines) process.stderr.write(`  ${l}\n`);
  } else if (err instanceof HfiClientError) {
    if (err.fieldErrors.length) {
      process.stderr.write(`${prefix} rejected by the server (${err.code}):\n`);
      for (const f of err.fieldErrors) process.stderr.write(`  ${f.path}: ${f.reason}\n`);
    } else {
      process.stderr.write(`${prefix} ${err.message}\n`);
    }
  } else if (err instanceof InputError) {
    process.stderr.write(`${prefix} ${err.message}\n`);
  } else {
    process.stderr.write(`${prefix} ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/**
 * Wraps an action: a client for the call, closed afterwards; failures are
 * reported and turn into exit code 1.
 */
export function withClient<A extends unknown[]>(
  fn: (client: PolicyClient, cmd: Command, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const client = connect(cmd);
    try {
      await fn(client, cmd, ...(args.slice(0, -1) as A));
    } catch (err) {
      if (err instanceof CommanderError) throw err; // usage error: exit code 2 in cli/main.ts
      reportError(err);
      process.exitCode = 1;
    } finally {
      client.close();
    }
  };
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function toJson(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** yaml is imported only when YAML is printed: it is a large part of the CLI's start-up time. */
export async function toYaml(v: unknown): Promise<string> {
  const { default: YAML } = await import("yaml");
  return YAML.stringify(v, { lineWidth: 0 });
}

/** Adds a help footer with examples. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
}
