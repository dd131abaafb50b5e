// `hfi pause` / `hfi resume`: the kill switch. Stored by the control plane and
// pushed to every filter like a policy change, so injection stops within the
// propagation time and requests being delayed go on at once.
import { Command } from "commander";
import type { PauseScope, PauseStateOut, PolicyClient } from "./client/index.ts";
import { addGlobalOptions, examples, print, withClient } from "./policy/common.ts";

interface ScopeFlags {
  namespace?: string;
  all?: boolean;
}

/** One line describing the switch, as `list` and `status` print it too. */
export function describePause(s: PauseStateOut | null | undefined): string {
  if (!s || (!s.all && !s.namespaces.length && !s.policies.length)) return "nothing paused";
  const parts: string[] = [];
  if (s.all) parts.push("ALL policies");
  if (s.namespaces.length) parts.push(`namespaces ${s.namespaces.join(", ")}`);
  if (s.policies.length) parts.push(`policies ${s.policies.join(", ")}`);
  return `paused: ${parts.join("; ")}`;
}

function scopeOf(cmd: Command, name: string | undefined, flags: ScopeFlags): PauseScope {
  const given = [name !== undefined, flags.namespace !== undefined, !!flags.all].filter(Boolean).length;
  if (given > 1) cmd.error("error: give a policy NAME, --namespace NS or --all, not several", { exitCode: 2 });
  if (name !== undefined) return { policy: name };
  if (flags.namespace !== undefined) return { namespace: flags.namespace };
  return { all: true };
}

function switchCommand(op: "pause" | "resume"): Command {
  const cmd = addGlobalOptions(
    new Command(op)
      .description(
        op === "pause"
          ? "stop injecting faults: every policy (default), one namespace's workloads, or one policy"
          : "undo a pause: everything (default: the global switch and every namespace and policy pause), one namespace, or one policy",
      )
      .argument("[name]", "one policy")
      .option("-n, --namespace <ns>", "only workloads in this namespace")
      .option("--all", "every policy (the default)"),
  );
  examples(cmd, [`npx hfi ${op}`, `npx hfi ${op} --namespace shop`, `npx hfi ${op} frontend-slow`]);
  return cmd.action(
    withClient(async (client: PolicyClient, c: Command, name: unknown) => {
      const scope = scopeOf(c, name as string | undefined, c.opts() as ScopeFlags);
      const state = op === "pause" ? await client.pausePolicies(scope) : await client.resumePolicies(scope);
      print(describePause(state));
    }),
  );
}

export const pauseCommand = () => switchCommand("pause").exitOverride();
export const resumeCommand = () => switchCommand("resume").exitOverride();
