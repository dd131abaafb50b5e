// The CLI on a terminal: `script` (util-linux) gives it a pseudo-terminal,
// so colour turns on (unless NO_COLOR) and `delete --all` asks first.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createPolicyClient } from "../../cli/client/index.ts";
import { startTestServer, waitFor } from "../support/server.ts";
import { cleanEnv, HFI_BIN, REPO, type RunResult } from "./run.ts";

/** Runs `hfi ARGS` on a pseudo-terminal; `answer` is typed once `prompt` shows up. */
function onTerminal(args: string[], env: Record<string, string>, dialog?: { prompt: string; answer: string }): Promise<RunResult> {
  const cmd = [process.execPath, HFI_BIN, ...args].map((a) => `'${a}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: REPO, env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let answered = false;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (dialog && !answered && stdout.includes(dialog.prompt)) {
        answered = true;
        child.stdin.write(dialog.answer);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr: "" }));
  });
}

test("on a terminal: colour unless NO_COLOR; delete --all asks and honours the answer", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress });
  const env = { HFI_SERVER: server.grpcAddress };
  try {
    for (const name of ["tty-a", "tty-b"]) {
      await client.applyPolicy({ metadata: { name }, spec: { rules: [{ fault: { percentage: 1, delayMs: 5 } }] } });
    }
    const colour = await onTerminal(["policy", "list"], env);
    assert.is(colour.code, 0, colour.stdout);
    assert.match(colour.stdout, /\x1b\[1mNAME/, "bold header on a terminal");
    const plain = await onTerminal(["policy", "list"], { ...env, NO_COLOR: "1" });
    assert.not.match(plain.stdout, /\x1b\[1m/, "NO_COLOR turns colour off");
    assert.match(plain.stdout, /^NAME\s+TARGET/m);

    const prompt = "Delete all 2 policies (tty-a, tty-b)? [y/N]";
    const no = await onTerminal(["policy", "delete", "--all"], env, { prompt, answer: "n\r" });
    assert.is(no.code, 0, no.stdout);
    assert.match(no.stdout, /Aborted: nothing deleted\./);
    assert.is((await client.listPolicies()).policies.length, 2);

    const yes = await onTerminal(["policy", "delete", "--all"], env, { prompt, answer: "y\r" });
    assert.is(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, /policy "tty-a" deleted\r?\npolicy "tty-b" deleted/);
    await waitFor(async () => (await client.listPolicies()).policies.length === 0, "policies deleted");
  } finally {
    client.close();
    await server.close();
  }
});

test.run();
