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
  /**
   * Workload version (Istio canonical revision); empty when unknown.
   */
  'version'?: (string);
  /**
   * Where service / version came from: "label <key>", "WORKLOAD_NAME",
   * "plugin configuration"; empty when unknown or from older filters.
   */
  'serviceSource'?: (string);
  'versionSource'?: (string);
  /**
   * Kubernetes service account the workload runs as (Istio node metadata
   * SERVICE_ACCOUNT); empty when unknown. Under --mesh-identity a non-empty
   * value must match the caller's SPIFFE ID.
   */
  'serviceAccount'?: (string);
  /**
   * The traffic this filter instance sees: "inbound" or "outbound" (its
   * plugin configuration); empty from older filters (inbound).
   */
  'direction'?: (string);
  '_version'?: "version";
  '_serviceSource'?: "serviceSource";
  '_versionSource'?: "versionSource";
  '_serviceAccount'?: "serviceAccount";
  '_direction'?: "direction";
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
  /**
   * Workload version (Istio canonical revision); empty when unknown.
   */
  'version'?: (string);
  /**
   * Where service / version came from: "label <key>", "WORKLOAD_NAME",
   * "plugin configuration"; empty when unknown or from older filters.
   */
  'serviceSource'?: (string);
  'versionSource'?: (string);
  /**
   * Kubernetes service account the workload runs as (Istio node metadata
   * SERVICE_ACCOUNT); empty when unknown. Under --mesh-identity a non-empty
   * value must match the caller's SPIFFE ID.
   */
  'serviceAccount'?: (string);
  /**
   * The traffic this filter instance sees: "inbound" or "outbound" (its
   * plugin configuration); empty from older filters (inbound).
   */
  'direction'?: (string);
  '_version'?: "version";
  '_serviceSource'?: "serviceSource";
  '_versionSource'?: "versionSource";
  '_serviceAccount'?: "serviceAccount";
  '_direction'?: "direction";
}
