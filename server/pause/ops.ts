// Pause / resume as both APIs serve them: validate the scope, check a named
// policy exists, change the switch in the store. The view's watch of the
// switch then pushes the new snapshots.
import type { PauseStateOut } from "../../proto/loader.ts";
import { StoreError, type PolicyStore } from "../store/types.ts";
import { pauseScopeOf, type PauseState } from "./state.ts";

export interface PauseInput {
  all?: boolean;
  namespace?: string;
  policy?: string;
}

export async function changePause(store: PolicyStore, op: "pause" | "resume", input: PauseInput): Promise<PauseState> {
  const scope = pauseScopeOf(input);
  // Pausing a name that does not exist is almost always a typo; resuming one is harmless.
  if (op === "pause" && "policy" in scope && !(await store.get(scope.policy)))
    throw new StoreError("not_found", `policy "${scope.policy}" not found`);
  return store.changePause({ op, scope });
}

export function pauseMessage(s: PauseState): PauseStateOut {
  return { all: s.all, namespaces: [...s.namespaces], policies: [...s.policies], updatedAtUnixMs: s.updatedAtUnixMs };
}
