// Original file: proto/hfi/v1/policy_service.proto


/**
 * Who a proxy is. Filled by the filter from Envoy node metadata.
 */
export interface Identity {
  /**
   * Workload / service name; empty when it could not be determined.
   */
  'service'?: (string);
  'namespace'?: (string);
  'pod'?: (string);
  /**
   * Unique per filter VM (Envoy node id plus a worker suffix).
   */
  'proxyId'?: (string);
  'labels'?: ({[key: string]: string});
}

/**
 * Who a proxy is. Filled by the filter from Envoy node metadata.
 */
export interface Identity__Output {
  /**
   * Workload / service name; empty when it could not be determined.
   */
  'service': (string);
  'namespace': (string);
  'pod': (string);
  /**
   * Unique per filter VM (Envoy node id plus a worker suffix).
   */
  'proxyId': (string);
  'labels': ({[key: string]: string});
}
