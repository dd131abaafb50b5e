// The `--wait[=TIMEOUT]` flag of apply and delete.
import { Option } from "commander";
import type { PolicyStatusOut } from "../../proto/types.ts";
import { DEFAULT_WAIT_MS } from "../client/convergence.ts";
import { parseTimeout } from "./common.ts";

export function waitOption(what: string): Option {
  return new Option("--wait [timeout]", `${what} (default timeout ${DEFAULT_WAIT_MS / 1000}s; e.g. --wait=30s)`).argParser(parseTimeout);
}

export function waitedLine(name: string, st: PolicyStatusOut): string {
  return st.targetedProxies === 0
    ? `policy "${name}" targets no connected proxy`
    : `policy "${name}" version ${st.version} ACKed by ${st.ackedCount}/${st.targetedProxies} proxies`;
}
