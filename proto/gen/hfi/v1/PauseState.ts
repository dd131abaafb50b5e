// Original file: proto/hfi/v1/policy_service.proto

import type { Long } from '@grpc/proto-loader';

export interface PauseState {
  'all'?: (boolean);
  /**
   * Workload namespaces in which nothing is injected.
   */
  'namespaces'?: (string)[];
  /**
   * Policies paused by name.
   */
  'policies'?: (string)[];
  'updatedAtUnixMs'?: (number | string | Long);
}

export interface PauseState__Output {
  'all': (boolean);
  /**
   * Workload namespaces in which nothing is injected.
   */
  'namespaces': (string)[];
  /**
   * Policies paused by name.
   */
  'policies': (string)[];
  'updatedAtUnixMs': (number);
}
