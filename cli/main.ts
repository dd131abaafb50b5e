// The `hfi` command: each subcommand lives with the component it runs.
import { Command, CommanderError } from "commander";

const program = new Command("hfi")
  .description("HFI: fault injection for Istio service meshes")
  .showHelpAfterError()
  .exitOverride();

const { serverCommand } = await import("../server/cli.ts");
const { sidecarCommand } = await import("../filter/host/cli.ts");
const { policyCommand } = await import("./policy/index.ts");
program.addCommand(serverCommand());
program.addCommand(sidecarCommand());
program.addCommand(policyCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Exit codes: 0 ok / help, 2 usage error.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  throw err;
}
