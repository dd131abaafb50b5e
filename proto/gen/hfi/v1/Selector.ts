// Original file: proto/hfi/v1/policy.proto


/**
 * Which workloads the policy applies to. Empty or "*" means any.
 */
export interface Selector {
  'service'?: (string);
  'namespace'?: (string);
  /**
   * Every listed label must be present on the workload with this value.
   */
  'labels'?: ({[key: string]: string});
}

/**
 * Which workloads the policy applies to. Empty or "*" means any.
 */
export interface Selector__Output {
  'service': (string);
  'namespace': (string);
  /**
   * Every listed label must be present on the workload with this value.
   */
  'labels': ({[key: string]: string});
}
