// scripts/k8s/render.ts: the subset of kustomize HFI's manifests use, on small
// fixtures written to a temp dir.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderKustomization, RenderError } from "../../scripts/k8s/render.ts";

function fixture(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-render-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: example/web:1.0
          env:
            - {name: A, value: "1"}
            - {name: B, value: "2"}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: a}
spec: {ports: [{port: 80}]}
`;

function withFixture(files: Record<string, string>, fn: (dir: string) => void) {
  const dir = fixture(files);
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("resources: multi-document files and nested kustomizations", () => {
  withFixture(
    {
      "base/kustomization.yaml": "resources: [app.yaml]\n",
      "base/app.yaml": DEPLOY,
      "top/kustomization.yaml": "resources: [../base, extra.yaml]\n",
      "top/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n",
    },
    (dir) => {
      const objs = renderKustomization(path.join(dir, "top")).map((r) => `${r.object.kind}/${r.object.metadata.name}`);
      assert.equal(objs, ["Deployment/web", "Service/web", "ConfigMap/c"]);
    },
  );
});

test("images: base tag, then overlay tag and new name", () => {
  withFixture(
    {
      "base/kustomization.yaml": "resources: [app.yaml]\nimages: [{name: example/web, newTag: '2.0'}]\n",
      "base/app.yaml": DEPLOY,
      "top/kustomization.yaml": "resources: [../base]\nimages: [{name: example/web, newName: reg.local/web, newTag: dev}]\n",
    },
    (dir) => {
      const b = renderKustomization(path.join(dir, "base"))[0].object;
      assert.is(b.spec.template.spec.containers[0].image, "example/web:2.0");
      const t = renderKustomization(path.join(dir, "top"))[0].object;
      assert.is(t.spec.template.spec.containers[0].image, "reg.local/web:dev");
    },
  );
});

test("JSON 6902 patches: replace, add, remove, test; only the target changes", () => {
  withFixture(
    {
      "kustomization.yaml": `resources: [app.yaml]
patches:
  - target: {group: apps, version: v1, kind: Deployment, name: web}
    patch: |-
      - {op: replace, path: /spec/replicas, value: 1}
      - {op: test, path: /spec/template/spec/containers/0/env/1/name, value: B}
      - {op: replace, path: /spec/template/spec/containers/0/env/1/value, value: "3"}
      - {op: remove, path: /spec/template/spec/containers/0/env/0}
      - {op: add, path: /metadata/annotations, value: {"x/y": z}}
      - {op: add, path: /metadata/annotations/a~1b, value: c}
`,
      "app.yaml": DEPLOY,
    },
    (dir) => {
      const [d, s] = renderKustomization(dir).map((r) => r.object);
      assert.is(d.spec.replicas, 1);
      assert.equal(d.spec.template.spec.containers[0].env, [{ name: "B", value: "3" }]);
      assert.equal(d.metadata.annotations, { "x/y": "z", "a/b": "c" });
      assert.equal(s.spec, { ports: [{ port: 80 }] });
    },
  );
});

function rejects(files: Record<string, string>, expected: RegExp) {
  withFixture(files, (dir) => {
    try {
      renderKustomization(dir);
      assert.unreachable("render should fail");
    } catch (err) {
      assert.instance(err, RenderError);
      assert.match((err as Error).message, expected);
    }
  });
}

test("a failed test op stops the render with its path", () => {
  rejects(
    {
      "kustomization.yaml": `resources: [app.yaml]
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      - {op: test, path: /spec/template/spec/containers/0/env/1/name, value: C}
`,
      "app.yaml": DEPLOY,
    },
    /test failed at \/spec\/template\/spec\/containers\/0\/env\/1\/name: expected "C", got "B"/,
  );
});

test("unsupported kustomization fields and patch kinds are rejected", () => {
  rejects({ "kustomization.yaml": "resources: [app.yaml]\ncommonLabels: {a: b}\n", "app.yaml": DEPLOY }, /field "commonLabels" is not supported/);
  rejects(
    {
      "kustomization.yaml": "resources: [app.yaml]\npatches:\n  - target: {kind: Deployment}\n    patch: |-\n      spec: {replicas: 1}\n",
      "app.yaml": DEPLOY,
    },
    /not a JSON 6902 operation list/,
  );
  rejects(
    { "kustomization.yaml": "resources: [app.yaml]\npatches:\n  - target: {kind: StatefulSet}\n    patch: '[]'\n", "app.yaml": DEPLOY },
    /matches no resource/,
  );
});

test("duplicates, missing resources and bad paths are errors", () => {
  rejects({ "kustomization.yaml": "resources: [app.yaml, app.yaml]\n", "app.yaml": DEPLOY }, /defined twice/);
  rejects({ "kustomization.yaml": "resources: [nope.yaml]\n" }, /resource nope.yaml does not exist/);
  rejects(
    {
      "kustomization.yaml": "resources: [app.yaml]\npatches:\n  - target: {kind: Service}\n    patch: '[{op: replace, path: /spec/nothing, value: 1}]'\n",
      "app.yaml": DEPLOY,
    },
    /replace of missing path \/spec\/nothing/,
  );
});

test.run();
