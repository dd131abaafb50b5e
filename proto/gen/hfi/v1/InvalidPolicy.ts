// Original file: proto/hfi/v1/policy_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A stored value that is not a valid policy.
 */
export interface InvalidPolicy {
  'name'?: (string);
  /**
   * Store revision of the write.
   */
  'version'?: (number | string | Long);
  /**
   * Why it does not validate ("field.path: reason; ...").
   */
  'error'?: (string);
  /**
   * Size of the stored value in bytes.
   */
  'sizeBytes'?: (number | string | Long);
}

/**
 * A stored value that is not a valid policy.
 */
export interface InvalidPolicy__Output {
  'name': (string);
  /**
   * Store revision of the write.
   */
  'version': (number);
  /**
   * Why it does not validate ("field.path: reason; ...").
   */
  'error': (string);
  /**
   * Size of the stored value in bytes.
   */
  'sizeBytes': (number);
}
