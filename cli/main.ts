// The `hfi` command: each subcommand lives with the component it runs.
import { Command, CommanderError } from "commander";

const program = new Command("hfi")
  .description("HFI: fault injection for Istio service meshes")
  .showHelpAfterError()
  .exitOverride();

// Load only the subcommand being run: `hfi policy …` should not pay for
// importing the server and the wasm host on every call.
const subcommands: Record<string, () => Promise<Command>> = {
  server: async () => (await import("../server/cli.ts")).serverCommand(),
  sidecar: async () => (await import("../filter/host/sidecar/cli.ts")).sidecarCommand(),
  policy: async () => (await import("./policy/index.ts")).policyCommand(),
};
const invoked = process.argv[2];
const wanted = invoked && invoked in subcommands ? [invoked] : Object.keys(subcommands);
for (const name of wanted) program.addCommand(await subcommands[name]!());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Exit codes: 0 ok / help, 2 usage error.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  throw err;
}
