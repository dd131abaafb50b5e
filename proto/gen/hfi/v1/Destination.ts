// Original file: proto/hfi/v1/policy.proto


/**
 * Either service (+ namespace) or host; port optional (0 = any).
 */
export interface Destination {
  /**
   * Kubernetes service name; with namespace it means host
   * <service>.<namespace>.svc.cluster.local.
   */
  'service'?: (string);
  /**
   * Default: the policy selector's namespace (empty or "*" there: any).
   */
  'namespace'?: (string);
  /**
   * A host name as the caller or the mesh names it (case-insensitive,
   * exact), e.g. api.example.com or productcatalog.demo.svc.cluster.local.
   */
  'host'?: (string);
  'port'?: (number);
}

/**
 * Either service (+ namespace) or host; port optional (0 = any).
 */
export interface Destination__Output {
  /**
   * Kubernetes service name; with namespace it means host
   * <service>.<namespace>.svc.cluster.local.
   */
  'service': (string);
  /**
   * Default: the policy selector's namespace (empty or "*" there: any).
   */
  'namespace': (string);
  /**
   * A host name as the caller or the mesh names it (case-insensitive,
   * exact), e.g. api.example.com or productcatalog.demo.svc.cluster.local.
   */
  'host': (string);
  'port': (number);
}
