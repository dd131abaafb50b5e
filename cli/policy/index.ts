// `hfi policy …`: manage fault-injection policies on a running control plane.
import { Command } from "commander";
import { applyCommand } from "./apply.ts";
import { addGlobalOptions, examples } from "./common.ts";
import { deleteCommand } from "./delete.ts";
import { describeCommand, getCommand, listCommand, statusCommand } from "./read.ts";
import { watchCommand } from "./watch.ts";

/**
 * Commander settings are not inherited through addCommand(), so usage errors
 * must be turned into exceptions on every level (cli/main.ts maps them to
 * exit code 2 instead of commander's own process.exit(1)).
 */
function strict(cmd: Command): Command {
  cmd.exitOverride().showHelpAfterError("(run with --help for usage)").configureHelp({ showGlobalOptions: true });
  for (const sub of cmd.commands) strict(sub);
  return cmd;
}

export function policyCommand(): Command {
  const cmd = addGlobalOptions(
    new Command("policy").description("create, inspect, watch and delete fault-injection policies"),
  );
  cmd
    .addCommand(applyCommand())
    .addCommand(getCommand())
    .addCommand(listCommand())
    .addCommand(describeCommand())
    .addCommand(deleteCommand())
    .addCommand(statusCommand())
    .addCommand(watchCommand());
  // `hfi policy list | head -1`: a closed pipe ends the command quietly.
  cmd.hook("preAction", () => {
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  });
  examples(cmd, [
    "npx hfi policy apply -f cli/examples/delay.yaml",
    "npx hfi policy list",
    "npx hfi policy describe frontend-slow",
    "npx hfi policy status",
  ]);
  return strict(cmd);
}
