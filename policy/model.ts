// The policy model without text parsing: schema facts from the descriptors,
// the fault-kind table, limits and error types. The CLI's display commands
// import this entry (not index.ts) so `hfi policy list` does not load yaml;
// everything here is re-exported by index.ts.
export { LIMITS } from "./limits.ts";
export { PolicyValidationError, type FieldError, type ParseResult } from "./types.ts";
export { Decoder, isPlainObject, lowerCamel, schemaType } from "./schema.ts";
export { fieldFacts, messageType, setFields, writeSetFields, chosenMember, isDefaultValue, OUTPUT_ONLY_METADATA, type FieldFact, type SetFieldsForm } from "./fields.ts";
export { FAULT_KINDS, CONTROL_HEADERS, faultKindsOf, faultKindChoices, faultText, faultDetails, fmtPct, type FaultKind, type FaultCheck } from "./fault-kinds.ts";
export { filterRules, grpcPathMatch, grpcMatchText } from "./grpc-match.ts";
export { sourceMatchText } from "./source-match.ts";
