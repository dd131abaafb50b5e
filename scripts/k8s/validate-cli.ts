// npm run k8s:validate [DIR...]: render HFI's kustomizations without a
// cluster and run every static check (scripts/k8s/validate.ts). When kubectl
// is installed, also compares the rendering with `kubectl kustomize`, so the
// small renderer cannot drift from the real one unnoticed.
// Exit codes: 0 clean, 1 problems found.
import { spawnSync } from "node:child_process";
import YAML from "yaml";
import { renderKustomization, objectId, RenderError, type K8sObject } from "./render.ts";
import { validateManifests, formatProblem } from "./validate.ts";

const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ["k8s", "k8s/overlays/dev", "k8s/overlays/fail-reload"];

function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x && typeof x === "object") {
    return `{${Object.keys(x)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(x);
}

/** Differences between our rendering and kubectl's; undefined when kubectl is absent. */
function compareWithKubectl(dir: string, mine: K8sObject[]): string[] | undefined {
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  if (r.error) return undefined;
  if (r.status !== 0) return [`kubectl kustomize ${dir} failed: ${r.stderr.trim()}`];
  const theirs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
  const byId = new Map(mine.map((o) => [objectId(o), o]));
  const out: string[] = [];
  for (const t of theirs) {
    const o = byId.get(objectId(t));
    if (!o) out.push(`${objectId(t)}: rendered by kubectl kustomize only`);
    else if (canonical(o) !== canonical(t)) out.push(`${objectId(t)}: differs from kubectl kustomize`);
    byId.delete(objectId(t));
  }
  for (const id of byId.keys()) out.push(`${id}: not rendered by kubectl kustomize`);
  return out;
}

let bad = 0;
for (const dir of dirs) {
  let objs: K8sObject[];
  try {
    objs = renderKustomization(dir).map((r) => r.object);
  } catch (err) {
    if (!(err instanceof RenderError)) throw err;
    console.error(`${dir}: ${err.message}`);
    bad++;
    continue;
  }
  const problems = validateManifests(objs).map(formatProblem);
  const drift = compareWithKubectl(dir, objs);
  for (const p of [...problems, ...(drift ?? [])]) console.error(`${dir}: ${p}`);
  bad += problems.length + (drift?.length ?? 0);
  const kubectlNote = drift === undefined ? "kubectl not installed, not compared" : "same as kubectl kustomize";
  console.log(`${dir}: ${objs.length} objects, ${problems.length} problems (${kubectlNote})`);
}
process.exit(bad ? 1 : 0);
