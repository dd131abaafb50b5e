// Original file: proto/hfi/v1/policy_service.proto


export interface GetPolicyStatusRequest {
  /**
   * Empty: every policy.
   */
  'name'?: (string);
}

export interface GetPolicyStatusRequest__Output {
  /**
   * Empty: every policy.
   */
  'name': (string);
}
