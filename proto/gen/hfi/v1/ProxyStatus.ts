// Original file: proto/hfi/v1/policy_service.proto

import type { Identity as _hfi_v1_Identity, Identity__Output as _hfi_v1_Identity__Output } from '../../hfi/v1/Identity.ts';
import type { Long } from '@grpc/proto-loader';

export interface ProxyStatus {
  'identity'?: (_hfi_v1_Identity | null);
  /**
   * Snapshot version last sent, ACKed, NACKed.
   */
  'sentVersion'?: (string);
  'ackedVersion'?: (string);
  'nackedVersion'?: (string);
  'nackError'?: (string);
  /**
   * Names of the policies in the last snapshot sent.
   */
  'policies'?: (string)[];
  'connectedAtUnixMs'?: (number | string | Long);
  /**
   * Control-plane replica the proxy's config stream is connected to (its
   * replica id; empty from servers that predate multi-replica status).
   */
  'replica'?: (string);
  /**
   * The VM has not handled an HTTP request since it started: Envoy's
   * main-thread VM (one per sidecar, never serves requests) or a worker that
   * has had no traffic yet. Its ACKs count like any other.
   */
  'idle'?: (boolean);
}

export interface ProxyStatus__Output {
  'identity': (_hfi_v1_Identity__Output | null);
  /**
   * Snapshot version last sent, ACKed, NACKed.
   */
  'sentVersion': (string);
  'ackedVersion': (string);
  'nackedVersion': (string);
  'nackError': (string);
  /**
   * Names of the policies in the last snapshot sent.
   */
  'policies': (string)[];
  'connectedAtUnixMs': (number);
  /**
   * Control-plane replica the proxy's config stream is connected to (its
   * replica id; empty from servers that predate multi-replica status).
   */
  'replica': (string);
  /**
   * The VM has not handled an HTTP request since it started: Envoy's
   * main-thread VM (one per sidecar, never serves requests) or a worker that
   * has had no traffic yet. Its ACKs count like any other.
   */
  'idle': (boolean);
}
