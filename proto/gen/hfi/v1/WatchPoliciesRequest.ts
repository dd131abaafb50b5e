// Original file: proto/hfi/v1/policy_service.proto


export interface WatchPoliciesRequest {
  /**
   * First emit one PUT event per existing policy.
   */
  'sendInitial'?: (boolean);
}

export interface WatchPoliciesRequest__Output {
  /**
   * First emit one PUT event per existing policy.
   */
  'sendInitial': (boolean);
}
