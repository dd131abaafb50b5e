// The `hfi` command: each subcommand lives with the component it runs.
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };

function program(): Command {
  return new Command("hfi")
    .description("HFI: fault injection for Istio service meshes")
    .version(pkg.version, "-V, --version", "print the hfi version")
    .showHelpAfterError()
    .exitOverride();
}

// Load only the subcommand being run: `hfi policy …` should not pay for
// importing the server and the wasm host on every call.
const subcommands: Record<string, () => Promise<Command>> = {
  server: async () => (await import("../server/cli.ts")).serverCommand(),
  sidecar: async () => (await import("../filter/host/sidecar/cli.ts")).sidecarCommand(),
  policy: async () => (await import("./policy/index.ts")).policyCommand(),
  pause: async () => (await import("./pause.ts")).pauseCommand(),
  resume: async () => (await import("./pause.ts")).resumeCommand(),
  completion: async () => (await import("./completion.ts")).completionCommand(fullTree),
};

/** The whole command tree (help without a subcommand, completion scripts). */
async function fullTree(): Promise<Command> {
  const root = program();
  for (const name of Object.keys(subcommands)) root.addCommand(await subcommands[name]!());
  return root;
}

function isCommanderError(err: unknown): err is { exitCode: number } {
  return typeof err === "object" && err !== null && String((err as { code?: unknown }).code).startsWith("commander.");
}

/** Usage errors become exceptions on every level (mapped to exit code 2 below). */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) overrideExits(sub);
}

async function main(): Promise<void> {
  const invoked = process.argv[2];
  let root: Command;
  if (invoked && invoked in subcommands) {
    root = program();
    root.addCommand(await subcommands[invoked]!());
  } else {
    root = await fullTree();
  }
  overrideExits(root);
  try {
    await root.parseAsync(process.argv);
  } catch (err) {
    // The server and sidecar commands come from the per-file build with their
    // own copy of commander: recognise its errors by shape, not by class.
    if (err instanceof CommanderError || isCommanderError(err)) {
      // Exit codes: 0 ok / help / version, 2 usage error.
      process.exit((err as { exitCode: number }).exitCode === 0 ? 0 : 2);
    }
    throw err;
  }
}

await main();
