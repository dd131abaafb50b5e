// `hfi policy watch`: one line (or JSON object) per change, until Ctrl-C.
import { Command } from "commander";
import type { PolicyEventOut } from "../../proto/types.ts";
import type { ResumeOptions } from "../client/index.ts";
import { examples, outputOption, print, toYaml, withClient, type OutputFormat } from "./common.ts";
import type { policyDocument as PolicyDocument } from "./document.ts";
import { colorEnabled, outputWidth, painter } from "./style.ts";
import { policyFaults, targetText } from "./summary.ts";
import { truncate } from "./table.ts";

const TYPE_NAMES: Record<string, string> = { TYPE_PUT: "PUT", TYPE_DELETE: "DELETE" };

export function eventType(ev: PolicyEventOut): string {
  return TYPE_NAMES[ev.type] ?? "UNKNOWN";
}

/**
 * "19:30:01.123  PUT     frontend-delay  v12  frontend.demo  50% delay 500ms";
 * shortened to `width` on a terminal, whole otherwise (width 0).
 */
export function eventLine(ev: PolicyEventOut, color: boolean, width: number): string {
  const paint = painter(color);
  const type = eventType(ev);
  const p = ev.policy;
  const time = new Date().toISOString().slice(11, 23);
  const name = p?.metadata?.name ?? "?";
  let rest = `${name}  rev ${ev.revision}`;
  // Outbound policies are marked (inbound lines read as before).
  const dir = p?.spec?.direction === "outbound" ? " (outbound)" : "";
  if (type === "PUT" && p) rest = `${name}  v${p.metadata?.version ?? ev.revision}  ${targetText(p.spec?.selector)}${dir}  ${policyFaults(p)}`;
  const full = `${time}  ${type.padEnd(6)}  ${rest}`;
  const line = width > 0 ? truncate(full, width) : full;
  if (!color) return line;
  // Colour the type word only (after truncation, so widths stay right).
  return line.replace(type, paint(type === "DELETE" ? "red" : "green", type));
}

/** `policyDocument` from ./document.ts (imported when JSON/YAML is asked for: it loads the schema reflection). */
export function eventJson(ev: PolicyEventOut, policyDocument: typeof PolicyDocument): Record<string, unknown> {
  return {
    type: eventType(ev),
    revision: ev.revision,
    policy: ev.policy ? policyDocument(ev.policy) : null,
  };
}

export function watchCommand(): Command {
  const cmd = new Command("watch")
    .description("stream policy changes as they happen (first the current policies, unless --no-initial)")
    .option("--no-initial", "only changes from now on, not the existing policies")
    .option("--no-reconnect", "end with an error when the connection is lost instead of reconnecting")
    .addOption(outputOption());
  examples(cmd, ["npx hfi policy watch", "npx hfi policy watch --no-initial -o json"]);
  return cmd.action(
    withClient(async (client, c) => {
      const flags = c.opts() as { initial: boolean; reconnect: boolean; output: OutputFormat };
      const server = client.server;
      // Notices go to stderr, so stdout stays one event per line.
      const resume: ResumeOptions | false = flags.reconnect && {
        onDisconnect: () => process.stderr.write(`watch: connection to ${server} lost, reconnecting…\n`),
        onResume: () => process.stderr.write(`watch: connection to ${server} resumed\n`),
      };
      const it = client.watchPolicies({ sendInitial: flags.initial, resume })[Symbol.asyncIterator]();
      const stop = () => void it.return?.();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const color = colorEnabled();
      const { policyDocument } = flags.output === "table" ? { policyDocument: undefined } : await import("./document.ts");
      try {
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          const ev = r.value;
          if (flags.output === "json") print(JSON.stringify(eventJson(ev, policyDocument!)));
          else if (flags.output === "yaml") process.stdout.write(`---\n${await toYaml(eventJson(ev, policyDocument!))}`);
          else print(eventLine(ev, color, process.stdout.isTTY ? outputWidth() : 0));
        }
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    }),
  );
}
