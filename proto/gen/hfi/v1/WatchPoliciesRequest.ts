// Original file: proto/hfi/v1/policy_service.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchPoliciesRequest {
  /**
   * First emit one PUT event per existing policy. Ignored when
   * start_revision > 0.
   */
  'sendInitial'?: (boolean);
  /**
   * Resume point: emit every change with revision > start_revision, then
   * live changes (0 = from now). When the store no longer has the changes
   * since start_revision (etcd compaction, embedded store restarted), the
   * server sends a reset instead: a marker event (type TYPE_UNSPECIFIED, no
   * policy, revision R), one PUT per current policy (revision R, in version
   * order), and the same marker again; the client replaces what it holds with
   * that state (names it holds that are not in it were deleted).
   */
  'startRevision'?: (number | string | Long);
}

export interface WatchPoliciesRequest__Output {
  /**
   * First emit one PUT event per existing policy. Ignored when
   * start_revision > 0.
   */
  'sendInitial': (boolean);
  /**
   * Resume point: emit every change with revision > start_revision, then
   * live changes (0 = from now). When the store no longer has the changes
   * since start_revision (etcd compaction, embedded store restarted), the
   * server sends a reset instead: a marker event (type TYPE_UNSPECIFIED, no
   * policy, revision R), one PUT per current policy (revision R, in version
   * order), and the same marker again; the client replaces what it holds with
   * that state (names it holds that are not in it were deleted).
   */
  'startRevision': (number);
}
