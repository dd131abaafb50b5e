// `hfi policy delete NAME… | --all`.
import readline from "node:readline/promises";
import { Command, Option } from "commander";
import { HfiClientError, type PolicyClient } from "../client/index.ts";
import { casConflict, CliError, examples, parsePositiveInt, print, withClient } from "./common.ts";
import { waitOption } from "./wait.ts";
import { waitDeleted, waitMs } from "../client/convergence.ts";

interface DeleteFlags {
  all?: boolean;
  yes?: boolean;
  expectedVersion?: number;
  wait?: boolean | number;
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Deletes each name; reports every failure and fails at the end if any did. */
async function deleteNames(client: PolicyClient, names: string[], expectedVersion?: number, wait?: boolean | number): Promise<void> {
  const failures: string[] = [];
  const deleted: string[] = [];
  for (const name of names) {
    try {
      const res = await client.deletePolicy(name, { expectedVersion });
      print(res.invalid ? `invalid entry "${name}" deleted (${res.invalid.error})` : `policy "${name}" deleted`);
      if (!res.invalid) deleted.push(name);
    } catch (err) {
      if (err instanceof HfiClientError && err.code === "NOT_FOUND") failures.push(`policy "${name}" not found`);
      else if (err instanceof HfiClientError && err.code === "ABORTED" && expectedVersion !== undefined) {
        failures.push((await casConflict(client, name, expectedVersion)).message);
      }
      else if (err instanceof HfiClientError && err.code !== "UNAVAILABLE") failures.push(`policy "${name}": ${err.message}`);
      else throw err;
    }
  }
  if (failures.length === 1) throw new CliError(failures[0]!);
  if (failures.length > 1) throw new CliError(`${failures.length} policies could not be deleted`, failures);
  const ms = waitMs(wait);
  if (ms === undefined) return;
  const deadline = Date.now() + ms;
  for (const name of deleted) {
    await waitDeleted((n, o) => client.getPolicyStatus(n, o), name, ms, client.server, deadline);
    print(`policy "${name}" removed from every proxy`);
  }
}

export function deleteCommand(): Command {
  const cmd = new Command("delete")
    .description("delete policies by name, or every policy with --all")
    .argument("[names...]", "policy names")
    .option("--all", "delete every policy")
    .option("-y, --yes", "do not ask for confirmation (required with --all when stdin is not a terminal)")
    .addOption(
      new Option("--expected-version <n>", "delete only if the policy is at this version (one NAME only)").argParser(
        parsePositiveInt,
      ),
    )
    .addOption(waitOption("return once no proxy holds the policy any more"));
  examples(cmd, [
    "npx hfi policy delete frontend-slow --wait",
    "npx hfi policy delete --all --yes",
  ]);
  return cmd.action(
    withClient(async (client, c, names: unknown) => {
      const list = (names as string[] | undefined) ?? [];
      const flags = c.opts() as DeleteFlags;
      if (flags.all && list.length) c.error("error: give policy names or --all, not both", { exitCode: 2 });
      if (!flags.all && list.length === 0) c.error("error: give at least one policy name, or --all", { exitCode: 2 });
      if (flags.expectedVersion !== undefined && (flags.all || list.length !== 1)) {
        c.error("error: --expected-version needs exactly one policy name", { exitCode: 2 });
      }
      if (!flags.all) return deleteNames(client, list, flags.expectedVersion, flags.wait);

      const { policies, invalid } = await client.listPolicies();
      // Invalid entries too: they sit under policy names and nothing else removes them.
      const all = [...policies.map((p) => p.metadata?.name ?? ""), ...invalid.map((e) => e.name)].sort();
      if (all.length === 0) {
        print("No policies to delete.");
        return;
      }
      if (!flags.yes) {
        if (!process.stdin.isTTY) {
          throw new CliError(`refusing to delete all ${all.length} policies without --yes (stdin is not a terminal)`);
        }
        const ok = await confirm(`Delete all ${all.length} policies (${all.join(", ")})? [y/N] `);
        if (!ok) {
          print("Aborted: nothing deleted.");
          return;
        }
      }
      await deleteNames(client, all, undefined, flags.wait);
    }),
  );
}
