// Where `apply -f` reads from: files, directories (their *.yaml, *.yml and
// *.json files, sorted by name, not recursive) and stdin ("-").
import fs from "node:fs";
import path from "node:path";

export interface Source {
  /** How errors name it: the path as given, or "<stdin>". */
  name: string;
  text: string;
}

export class InputError extends Error {}

const POLICY_FILE = /\.(ya?ml|json)$/i;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function readSources(paths: string[]): Promise<Source[]> {
  const out: Source[] = [];
  let stdinRead = false;
  for (const p of paths) {
    if (p === "-") {
      if (stdinRead) throw new InputError(`-f -: stdin can be given only once`);
      stdinRead = true;
      out.push({ name: "<stdin>", text: await readStdin() });
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(code === "ENOENT" ? `${p}: no such file or directory` : `${p}: ${(err as Error).message}`);
    }
    if (stat.isDirectory()) {
      const files = fs
        .readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isFile() && POLICY_FILE.test(e.name))
        .map((e) => e.name)
        .sort();
      if (files.length === 0) throw new InputError(`${p}: directory has no *.yaml, *.yml or *.json files`);
      for (const f of files) {
        const file = path.join(p, f);
        out.push({ name: file, text: fs.readFileSync(file, "utf8") });
      }
    } else {
      out.push({ name: p, text: fs.readFileSync(p, "utf8") });
    }
  }
  return out;
}
