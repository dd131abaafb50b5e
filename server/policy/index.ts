// Public API of the policy module (server, REST routes and CLI use this).
export { parsePolicyInput, parsePolicyDocuments, formatDocumentErrors, type ParsedDocument } from "./parse.ts";
export { policyToJson, encodedSize, policyExpiry, MAX_ENCODED_POLICY_BYTES } from "./json.ts";
export { compileHfiRegex, hfiRegexError, HfiRegexError, type HfiRegex, REGEX_MAX_LENGTH, REGEX_MAX_REPEAT, REGEX_MAX_PROGRAM } from "./regex.ts";
export { LIMITS } from "./limits.ts";
export { validateName } from "./validate.ts";
export { PolicyValidationError, type FieldError, type ParseResult } from "./types.ts";
