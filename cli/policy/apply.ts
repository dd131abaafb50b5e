// `hfi policy apply`: read, validate everything locally, let the server
// validate everything (dry run), and only then store: a bad document anywhere
// means nothing is applied.
import { Command, Option } from "commander";
import type { PolicyClient } from "../client/index.ts";
import { HfiClientError } from "../client/index.ts";
import type { PolicyOut } from "../../proto/types.ts";
import { casConflict, CliError, examples, parseNonNegativeInt, parsePositiveInt, print, withClient } from "./common.ts";
import { waitOption, waitedLine } from "./wait.ts";
import { waitApplied, waitMs } from "../client/convergence.ts";
import { readSources } from "./input.ts";
import { colorEnabled, painter } from "./style.ts";
import type { ValidPolicy } from "./validate.ts";

interface ApplyFlags {
  filename: string[];
  dryRun?: boolean;
  durationSeconds?: number;
  startDelayMs?: number;
  expectedVersion?: number;
  wait?: boolean | number;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function current(client: PolicyClient, name: string): Promise<PolicyOut | undefined> {
  try {
    return await client.getPolicy(name);
  } catch (err) {
    if (err instanceof HfiClientError && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}

/**
 * Server-side errors for one document, named like the local ones. `stored`:
 * how many policies were already stored before this one failed.
 */
function serverFailure(v: ValidPolicy, err: unknown, stored: number): never {
  const outcome = stored === 0 ? "nothing was applied" : `the ${stored} polic${stored === 1 ? "y" : "ies"} above were applied, the rest not`;
  if (err instanceof HfiClientError && err.fieldErrors.length) {
    throw new CliError(
      `the server rejected ${v.where} (policy "${v.policy.metadata?.name}"); ${outcome}`,
      err.fieldErrors.map((f) => `${v.where}: ${f.path}: ${f.reason}`),
    );
  }
  if (err instanceof HfiClientError && err.code !== "UNAVAILABLE" && err.code !== "DEADLINE_EXCEEDED") {
    throw new CliError(`${v.where} (policy "${v.policy.metadata?.name}"): ${err.message} (${err.code}); ${outcome}`);
  }
  if (stored > 0 && err instanceof HfiClientError) throw new CliError(`${err.message}; ${outcome}`);
  throw err;
}

export function applyCommand(): Command {
  const cmd = new Command("apply")
    .description("create or update policies from YAML/JSON files, directories or stdin")
    .requiredOption("-f, --filename <path>", "file, directory (*.yaml, *.yml, *.json) or - for stdin; repeatable", collect)
    .option("--dry-run", "validate on the server and show what would change; store nothing")
    .addOption(
      new Option("--duration-seconds <n>", "set fault.duration_seconds on every rule").argParser(parseNonNegativeInt),
    )
    .addOption(new Option("--start-delay-ms <n>", "set fault.start_delay_ms on every rule").argParser(parseNonNegativeInt))
    .addOption(
      new Option("--expected-version <n>", "apply only if the stored policy is at this version (one document only)").argParser(
        parsePositiveInt,
      ),
    )
    .addOption(waitOption("return once every targeted proxy has ACKed the new version"));
  examples(cmd, [
    "npx hfi policy apply -f cli/examples/delay.yaml",
    "npx hfi policy apply -f cli/examples/ --dry-run",
    "cat cli/examples/abort.yaml | npx hfi policy apply -f -",
    "npx hfi policy apply -f cli/examples/abort.yaml --duration-seconds 300 --start-delay-ms 200",
    "npx hfi policy apply -f cli/examples/delay.yaml --wait=30s",
  ]);
  return cmd.action(
    withClient(async (client, c) => {
      const flags = c.opts() as ApplyFlags;
      const sources = await readSources(flags.filename);
      // The server's parser (and yaml) only when something is applied: other commands start faster.
      const { validateSources } = await import("./validate.ts");
      const { policies, errors } = validateSources(sources, {
        durationSeconds: flags.durationSeconds,
        startDelayMs: flags.startDelayMs,
      });
      if (errors.length) {
        throw new CliError(`${errors.length} problem${errors.length > 1 ? "s" : ""} found; nothing was applied`, errors);
      }
      if (policies.length === 0) throw new CliError(`no policies found in ${flags.filename.join(", ")}`);
      const expectedVersion = flags.expectedVersion;
      if (expectedVersion !== undefined && policies.length !== 1) {
        c.error(`error: --expected-version needs exactly one policy document, found ${policies.length}`, { exitCode: 2 });
      }
      /** Server failure of one document; a lost compare-and-swap says what to do. */
      const failed = async (v: ValidPolicy, err: unknown, stored: number): Promise<never> => {
        if (expectedVersion !== undefined && err instanceof HfiClientError && err.code === "ABORTED") {
          throw await casConflict(client, v.policy.metadata?.name ?? "", expectedVersion);
        }
        serverFailure(v, err, stored);
      };

      const paint = painter(colorEnabled());
      // Every document through the server's validation first (dry run), so a
      // rejection of the last one cannot leave the first ones applied.
      const previews: { v: ValidPolicy; result: string; after: PolicyOut }[] = [];
      for (const v of policies) {
        try {
          const r = await client.applyPolicy(v.policy, { dryRun: true, expectedVersion });
          previews.push({ v, result: r.result, after: r.policy });
        } catch (err) {
          await failed(v, err, 0);
        }
      }
      if (flags.dryRun) {
        for (const { v, result, after } of previews) {
          print(`policy "${v.policy.metadata?.name}" ${result} (dry run)`);
          if (result === "unchanged") continue;
          const before = result === "created" ? undefined : await current(client, v.policy.metadata?.name ?? "");
          // The document writer (schema reflection) only for a dry run's diff.
          const { policyChanges } = await import("./document.ts");
          for (const ch of policyChanges(before, after)) {
            if (ch.before === undefined) print(paint("green", `  + ${ch.path}: ${ch.after}`));
            else if (ch.after === undefined) print(paint("red", `  - ${ch.path}: ${ch.before}`));
            else print(paint("yellow", `  ~ ${ch.path}: ${ch.before} → ${ch.after}`));
          }
        }
        return;
      }
      let stored = 0;
      const applied: PolicyOut[] = [];
      for (const v of policies) {
        try {
          const r = await client.applyPolicy(v.policy, { expectedVersion });
          print(`policy "${r.policy.metadata?.name}" ${r.result}`);
          applied.push(r.policy);
          stored++;
        } catch (err) {
          await failed(v, err, stored);
        }
      }
      const wait = waitMs(flags.wait);
      if (wait === undefined) return;
      // One deadline for the whole command; the policies stay stored whatever happens.
      const deadline = Date.now() + wait;
      for (const p of applied) {
        const name = p.metadata?.name ?? "";
        const st = await waitApplied((n) => client.getPolicyStatus(n), name, p.metadata?.version ?? 0, wait, client.server, deadline);
        print(waitedLine(name, st));
      }
    }),
  );
}
