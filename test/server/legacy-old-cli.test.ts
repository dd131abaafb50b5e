// The old hfi-cli against HFI's old routes. The CLI is Go (not buildable
// here), so its data path is modelled with its own structs
// (kalahetun/Minesweeper executor/cli/types/policy.go: json and yaml tags
// alike, metadata has only name, no selector) and encoding/json's rules
// (server/http/legacy/go-decode.ts): `list`/`get`/`describe` decode the
// response into those structs (executor/cli/client/client.go), `get -o yaml`
// encodes them, `apply -f` reads the YAML back (sigs.k8s.io/yaml: YAML →
// JSON → encoding/json) and POSTs json.Marshal of it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import YAML from "yaml";
import { decodeGo } from "../../server/http/legacy/go-decode.ts";
import { marshalGo, type GoType } from "../../server/http/legacy/go-structs.ts";
import { startTestServer } from "../support/server.ts";

const str: GoType = { kind: "string" };
const int: GoType = { kind: "int" };
const matchFields = ["exact", "prefix", "regex"].map((json) => ({ json, type: str, omitempty: true }));
const m = (name: string): GoType => ({ kind: "struct", name, fields: matchFields });
const CLI_POLICY: GoType = {
  kind: "struct",
  name: "FaultInjectionPolicy",
  fields: [
    { json: "metadata", type: { kind: "struct", name: "PolicyMetadata", fields: [{ json: "name", type: str }] } },
    {
      json: "spec",
      type: {
        kind: "struct",
        name: "PolicySpec",
        fields: [
          {
            json: "rules",
            type: {
              kind: "slice",
              elem: {
                kind: "struct",
                name: "Rule",
                fields: [
                  {
                    json: "match",
                    type: {
                      kind: "struct",
                      name: "MatchCondition",
                      fields: [
                        { json: "method", type: { kind: "ptr", elem: m("StringMatcher") }, omitempty: true },
                        { json: "path", type: { kind: "ptr", elem: m("PathMatcher") }, omitempty: true },
                        {
                          json: "headers",
                          omitempty: true,
                          type: { kind: "slice", elem: { kind: "struct", name: "HeaderMatcher", fields: [{ json: "name", type: str }, ...matchFields] } },
                        },
                      ],
                    },
                  },
                  {
                    json: "fault",
                    type: {
                      kind: "struct",
                      name: "FaultAction",
                      fields: [
                        { json: "percentage", type: int },
                        { json: "start_delay_ms", type: int, omitempty: true },
                        { json: "duration_seconds", type: int, omitempty: true },
                        { json: "delay", type: { kind: "ptr", elem: { kind: "struct", name: "DelayAction", fields: [{ json: "fixed_delay_ms", type: { kind: "int64" } }] } }, omitempty: true },
                        { json: "abort", type: { kind: "ptr", elem: { kind: "struct", name: "AbortAction", fields: [{ json: "httpStatus", type: int }] } }, omitempty: true },
                      ],
                    },
                  },
                ],
              },
            },
          },
        ],
      },
    },
  ],
};

type CliPolicy = { metadata: { name: string }; spec: { rules: { fault: { percentage: number; start_delay_ms: number; duration_seconds: number; delay: { fixed_delay_ms: number } | null; abort: { httpStatus: number } | null } }[] } };

const policy = {
  metadata: { name: "late-delay" },
  spec: { rules: [{ match: { path: { prefix: "/api" }, headers: [{ name: "x-user", exact: "test" }] }, fault: { percentage: 0, start_delay_ms: 200, duration_seconds: 60, delay: { fixed_delay_ms: 500 } } }] },
};

test("old CLI: list/get/describe see every delay, start delay and duration; get -o yaml | apply -f - is accepted", async () => {
  const s = await startTestServer();
  try {
    // apply -f: json.Marshal of the CLI struct.
    const post = (body: unknown) => fetch(`${s.baseUrl}/v1/policies`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.is((await post(marshalGo(CLI_POLICY, decodeGo(CLI_POLICY, JSON.stringify(policy))))).status, 201);

    // list: {"policies": [...]} into []*types.FaultInjectionPolicy.
    const listText = await (await fetch(`${s.baseUrl}/v1/policies`)).text();
    const listed = decodeGo({ kind: "struct", name: "response", fields: [{ json: "policies", type: { kind: "slice", elem: { kind: "ptr", elem: CLI_POLICY } } }] }, listText) as { policies: CliPolicy[] };
    const f = listed.policies[0]!.spec.rules[0]!.fault;
    assert.equal([f.delay?.fixed_delay_ms, f.start_delay_ms, f.duration_seconds, f.percentage], [500, 200, 60, 0]);

    // get / describe: the bare policy.
    const got = decodeGo(CLI_POLICY, await (await fetch(`${s.baseUrl}/v1/policies/late-delay`)).text()) as CliPolicy;
    assert.equal(got.spec.rules[0]!.fault.delay, { fixed_delay_ms: 500 });

    // get -o yaml (yaml.v3, same tags) | apply -f - (sigs.k8s.io/yaml → encoding/json).
    const yaml = YAML.stringify(marshalGo(CLI_POLICY, got));
    assert.match(yaml, /fixed_delay_ms: 500/);
    const reapplied = decodeGo(CLI_POLICY, JSON.stringify(YAML.parse(yaml)));
    const res = await post(marshalGo(CLI_POLICY, reapplied));
    assert.is(res.status, 201, await res.text());
    const after = decodeGo(CLI_POLICY, await (await fetch(`${s.baseUrl}/v1/policies/late-delay`)).text()) as CliPolicy;
    assert.equal(after, got, "the round trip changes nothing");
  } finally {
    await s.close();
  }
});

test.run();
