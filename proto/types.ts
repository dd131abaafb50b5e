// Short names for the generated types: "X" is what you send (all fields
// optional), "XOut" what you receive (defaults filled in). The list is
// generated (proto/gen/names.ts, npm run codegen): a new message needs no edit here.
export type * from "./gen/names.ts";
