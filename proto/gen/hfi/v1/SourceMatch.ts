// Original file: proto/hfi/v1/policy.proto


/**
 * Either service and/or namespace, or principal. Every field given must hold.
 */
export interface SourceMatch {
  /**
   * The caller's canonical service and namespace (Istio peer metadata;
   * the namespace falls back to the one in the principal).
   */
  'service'?: (string);
  'namespace'?: (string);
  /**
   * The caller's SPIFFE identity (first URI SAN of its mTLS certificate),
   * e.g. cluster.local/ns/demo/sa/checkout; a spiffe:// prefix is dropped.
   */
  'principal'?: (string);
}

/**
 * Either service and/or namespace, or principal. Every field given must hold.
 */
export interface SourceMatch__Output {
  /**
   * The caller's canonical service and namespace (Istio peer metadata;
   * the namespace falls back to the one in the principal).
   */
  'service': (string);
  'namespace': (string);
  /**
   * The caller's SPIFFE identity (first URI SAN of its mTLS certificate),
   * e.g. cluster.local/ns/demo/sa/checkout; a spiffe:// prefix is dropped.
   */
  'principal': (string);
}
