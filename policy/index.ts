// The policy core: the one model of a policy the server, the REST routes and
// the CLI share (parsing, validation and normalisation, canonical JSON, the
// fault kinds, schema facts from the descriptors). Import it from here, or
// from model.ts where yaml must not load (the CLI's read commands).
export * from "./model.ts";
export { parsePolicyInput, parsePolicyDocuments, formatDocumentErrors, type ParsedDocument } from "./parse.ts";
export { policyToJson, messageToProtoJson, encodedSize, policyExpiry, MAX_ENCODED_POLICY_BYTES } from "./json.ts";
export { compileHfiRegex, hfiRegexError, HfiRegexError, type HfiRegex, REGEX_MAX_LENGTH, REGEX_MAX_REPEAT, REGEX_MAX_PROGRAM } from "./regex.ts";
export { validateName } from "./validate.ts";
