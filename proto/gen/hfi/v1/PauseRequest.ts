// Original file: proto/hfi/v1/policy_service.proto


/**
 * Exactly one of all, namespace, policy. For ResumePolicies, all = resume
 * everything (the global switch and every namespace and policy pause).
 */
export interface PauseRequest {
  'all'?: (boolean);
  'namespace'?: (string);
  'policy'?: (string);
}

/**
 * Exactly one of all, namespace, policy. For ResumePolicies, all = resume
 * everything (the global switch and every namespace and policy pause).
 */
export interface PauseRequest__Output {
  'all': (boolean);
  'namespace': (string);
  'policy': (string);
}
