// Original file: proto/hfi/v1/config_discovery.proto

import type { SnapshotPolicy as _hfi_v1_SnapshotPolicy, SnapshotPolicy__Output as _hfi_v1_SnapshotPolicy__Output } from '../../hfi/v1/SnapshotPolicy.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * The complete set of policies for one identity; replaces the previous one.
 */
export interface ConfigSnapshot {
  /**
   * Deterministic for a given policy set: every replica computes the same.
   */
  'version'?: (string);
  /**
   * Unique per push; echoed in the ACK/NACK.
   */
  'nonce'?: (string);
  /**
   * In evaluation order: priority descending, then name.
   */
  'policies'?: (_hfi_v1_SnapshotPolicy)[];
  /**
   * Server wall clock at send time, so filters can honour expiry on their
   * own clock.
   */
  'serverTimeUnixMs'?: (number | string | Long);
}

/**
 * The complete set of policies for one identity; replaces the previous one.
 */
export interface ConfigSnapshot__Output {
  /**
   * Deterministic for a given policy set: every replica computes the same.
   */
  'version': (string);
  /**
   * Unique per push; echoed in the ACK/NACK.
   */
  'nonce': (string);
  /**
   * In evaluation order: priority descending, then name.
   */
  'policies': (_hfi_v1_SnapshotPolicy__Output)[];
  /**
   * Server wall clock at send time, so filters can honour expiry on their
   * own clock.
   */
  'serverTimeUnixMs': (number);
}
