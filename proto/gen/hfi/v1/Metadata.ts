// Original file: proto/hfi/v1/policy.proto

import type { Long } from '@grpc/proto-loader';

export interface Metadata {
  /**
   * Kubernetes resource-name rules (RFC 1123 label, at most 63 characters).
   */
  'name'?: (string);
  'labels'?: ({[key: string]: string});
  /**
   * Output only: store revision of the last write. Pass it back as
   * ApplyPolicyRequest.expected_version for compare-and-swap.
   */
  'version'?: (number | string | Long);
  /**
   * Output only: wall-clock times in Unix milliseconds, stamped by the server.
   */
  'createdAtUnixMs'?: (number | string | Long);
  'updatedAtUnixMs'?: (number | string | Long);
  /**
   * Output only: when every rule of a time-limited policy has expired and the
   * store drops it (0 = never).
   */
  'expiresAtUnixMs'?: (number | string | Long);
  /**
   * The user's own version string (e.g. "1.0.0", as the old control plane's
   * metadata.version), kept as given; not HFI's store revision (`version`).
   * At most 128 characters.
   */
  'versionLabel'?: (string);
}

export interface Metadata__Output {
  /**
   * Kubernetes resource-name rules (RFC 1123 label, at most 63 characters).
   */
  'name': (string);
  'labels': ({[key: string]: string});
  /**
   * Output only: store revision of the last write. Pass it back as
   * ApplyPolicyRequest.expected_version for compare-and-swap.
   */
  'version': (number);
  /**
   * Output only: wall-clock times in Unix milliseconds, stamped by the server.
   */
  'createdAtUnixMs': (number);
  'updatedAtUnixMs': (number);
  /**
   * Output only: when every rule of a time-limited policy has expired and the
   * store drops it (0 = never).
   */
  'expiresAtUnixMs': (number);
  /**
   * The user's own version string (e.g. "1.0.0", as the old control plane's
   * metadata.version), kept as given; not HFI's store revision (`version`).
   * At most 128 characters.
   */
  'versionLabel': (string);
}
