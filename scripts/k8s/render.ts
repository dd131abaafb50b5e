// A small kustomize renderer for HFI's own kustomizations, so the manifests can
// be checked without kubectl/kustomize or a cluster (test/k8s, npm run
// k8s:validate). It supports exactly what k8s/ uses — `resources` (files and
// directories), `images`, and JSON 6902 `patches` with a target — and rejects
// any other kustomization field, so adding one makes the tests fail loudly
// instead of silently rendering something different from `kubectl apply -k`.
// (No kustomize implementation is published on npm; the real one is Go.)
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

export type K8sObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: any };
};

export interface RenderedObject {
  object: K8sObject;
  /** File the object came from (relative to the repo when possible). */
  source: string;
}

export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderError";
  }
}

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "images", "patches"]);
const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

interface Patch {
  target?: PatchTarget;
  patch?: string;
  path?: string;
}

/** Renders the kustomization in `dir` the way `kubectl kustomize dir` would. */
export function renderKustomization(dir: string): RenderedObject[] {
  return render(path.resolve(dir), []);
}

function render(dir: string, stack: string[]): RenderedObject[] {
  if (stack.includes(dir)) throw new RenderError(`kustomization cycle: ${[...stack, dir].join(" -> ")}`);
  const file = KUSTOMIZATION_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new RenderError(`${dir}: no kustomization.yaml`);
  const k = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(key)) {
      throw new RenderError(`${rel(file)}: field "${key}" is not supported by scripts/k8s/render.ts (use resources, images, patches)`);
    }
  }
  let out: RenderedObject[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = path.resolve(dir, r);
    if (!fs.existsSync(p)) throw new RenderError(`${rel(file)}: resource ${r} does not exist`);
    if (fs.statSync(p).isDirectory()) out.push(...render(p, [...stack, dir]));
    else out.push(...loadFile(p));
  }
  checkUnique(out, file);
  for (const rule of (k.images ?? []) as ImageRule[]) {
    for (const r of out) setImages(r.object, rule);
  }
  for (const [i, p] of ((k.patches ?? []) as Patch[]).entries()) {
    out = applyPatch(out, p, `${rel(file)}: patches[${i}]`, dir);
  }
  return out;
}

function loadFile(file: string): RenderedObject[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  const out: RenderedObject[] = [];
  for (const d of docs) {
    if (d.errors.length) throw new RenderError(`${rel(file)}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o == null) continue;
    if (typeof o !== "object" || !o.apiVersion || !o.kind || !o.metadata?.name) {
      throw new RenderError(`${rel(file)}: every document needs apiVersion, kind and metadata.name`);
    }
    out.push({ object: o as K8sObject, source: rel(file) });
  }
  return out;
}

export function objectId(o: K8sObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : "";
  return `${o.kind} ${ns}${o.metadata.name}`;
}

function checkUnique(objs: RenderedObject[], file: string): void {
  const seen = new Map<string, string>();
  for (const r of objs) {
    const id = `${r.object.apiVersion.split("/").length > 1 ? r.object.apiVersion.split("/")[0] : ""}|${objectId(r.object)}`;
    const prev = seen.get(id);
    if (prev) throw new RenderError(`${rel(file)}: ${objectId(r.object)} is defined twice (${prev}, ${r.source})`);
    seen.set(id, r.source);
  }
}

/** Pod specs of a workload (or pod) object. */
export function podSpecs(o: K8sObject): any[] {
  switch (o.kind) {
    case "Pod":
      return o.spec ? [o.spec] : [];
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return o.spec?.template?.spec ? [o.spec.template.spec] : [];
    case "CronJob":
      return o.spec?.jobTemplate?.spec?.template?.spec ? [o.spec.jobTemplate.spec.template.spec] : [];
    default:
      return [];
  }
}

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

function setImages(o: K8sObject, rule: ImageRule): void {
  for (const spec of podSpecs(o)) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      if (typeof c.image !== "string") continue;
      const img = splitImage(c.image);
      if (img.name !== rule.name) continue;
      const name = rule.newName ?? img.name;
      if (rule.digest) c.image = `${name}@${rule.digest}`;
      else if (rule.newTag) c.image = `${name}:${rule.newTag}`;
      else c.image = `${name}${img.tag ? `:${img.tag}` : ""}${img.digest ? `@${img.digest}` : ""}`;
    }
  }
}

function matchesTarget(o: K8sObject, t: PatchTarget): boolean {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  if (t.group !== undefined && t.group !== group) return false;
  if (t.version !== undefined && t.version !== version) return false;
  if (t.kind !== undefined && t.kind !== o.kind) return false;
  if (t.name !== undefined && t.name !== o.metadata.name) return false;
  if (t.namespace !== undefined && t.namespace !== (o.metadata.namespace ?? "")) return false;
  return true;
}

function applyPatch(objs: RenderedObject[], p: Patch, where: string, dir: string): RenderedObject[] {
  if (!p.target) throw new RenderError(`${where}: only JSON 6902 patches with a target are supported`);
  const text = p.patch ?? (p.path ? fs.readFileSync(path.resolve(dir, p.path), "utf8") : undefined);
  if (text === undefined) throw new RenderError(`${where}: needs patch or path`);
  const ops = YAML.parse(text);
  if (!Array.isArray(ops)) {
    throw new RenderError(`${where}: not a JSON 6902 operation list (strategic-merge patches are not supported here)`);
  }
  const hits = objs.filter((r) => matchesTarget(r.object, p.target!));
  if (hits.length === 0) throw new RenderError(`${where}: target ${JSON.stringify(p.target)} matches no resource`);
  return objs.map((r) => {
    if (!hits.includes(r)) return r;
    let doc: any = structuredClone(r.object);
    for (const [i, op] of ops.entries()) {
      doc = applyOp(doc, op, `${where} op ${i} on ${objectId(r.object)}`);
    }
    return { object: doc as K8sObject, source: r.source };
  });
}

/** Decodes a JSON pointer (RFC 6901). */
function pointer(p: string, where: string): string[] {
  if (p === "") return [];
  if (!p.startsWith("/")) throw new RenderError(`${where}: path "${p}" must start with /`);
  return p
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function resolveParent(doc: any, parts: string[], where: string): [any, string] {
  let cur = doc;
  for (const key of parts.slice(0, -1)) {
    const next = Array.isArray(cur) ? cur[arrayIndex(cur, key, where, false)] : cur?.[key];
    if (next === undefined || next === null || typeof next !== "object") {
      throw new RenderError(`${where}: path segment "${key}" does not exist`);
    }
    cur = next;
  }
  return [cur, parts[parts.length - 1]];
}

function arrayIndex(arr: unknown[], key: string, where: string, allowEnd: boolean): number {
  if (key === "-" && allowEnd) return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new RenderError(`${where}: "${key}" is not an array index`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw new RenderError(`${where}: index ${i} out of range`);
  return i;
}

function getPath(doc: any, p: string, where: string): any {
  let cur = doc;
  for (const key of pointer(p, where)) {
    cur = Array.isArray(cur) ? cur[arrayIndex(cur, key, where, false)] : cur?.[key];
    if (cur === undefined) throw new RenderError(`${where}: path "${p}" does not exist`);
  }
  return cur;
}

function applyOp(doc: any, op: any, where: string): any {
  const parts = pointer(op.path ?? "", where);
  const value = structuredClone(op.value);
  switch (op.op) {
    case "test": {
      const actual = getPath(doc, op.path, where);
      if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
        throw new RenderError(`${where}: test failed at ${op.path}: expected ${JSON.stringify(op.value)}, got ${JSON.stringify(actual)}`);
      }
      return doc;
    }
    case "add":
    case "replace": {
      if (parts.length === 0) return value;
      const [parent, key] = resolveParent(doc, parts, where);
      if (Array.isArray(parent)) {
        const i = arrayIndex(parent, key, where, op.op === "add");
        if (op.op === "add") parent.splice(i, 0, value);
        else parent[i] = value;
      } else {
        if (op.op === "replace" && !(key in parent)) throw new RenderError(`${where}: replace of missing path ${op.path}`);
        parent[key] = value;
      }
      return doc;
    }
    case "remove": {
      const [parent, key] = resolveParent(doc, parts, where);
      if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, where, false), 1);
      else {
        if (!(key in parent)) throw new RenderError(`${where}: remove of missing path ${op.path}`);
        delete parent[key];
      }
      return doc;
    }
    case "copy":
    case "move": {
      const v = structuredClone(getPath(doc, op.from, where));
      if (op.op === "move") doc = applyOp(doc, { op: "remove", path: op.from }, where);
      return applyOp(doc, { op: "add", path: op.path, value: v }, where);
    }
    default:
      throw new RenderError(`${where}: unknown op "${op.op}"`);
  }
}

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

function rel(p: string): string {
  const r = path.relative(REPO, p);
  return r.startsWith("..") ? p : r;
}

/** The repository root (for callers resolving k8s/ paths). */
export const REPO_ROOT = REPO;
