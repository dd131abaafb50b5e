// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { InvalidPolicy as _hfi_v1_InvalidPolicy, InvalidPolicy__Output as _hfi_v1_InvalidPolicy__Output } from '../../hfi/v1/InvalidPolicy.ts';
import type { PauseState as _hfi_v1_PauseState, PauseState__Output as _hfi_v1_PauseState__Output } from '../../hfi/v1/PauseState.ts';
import type { Long } from '@grpc/proto-loader';

export interface ListPoliciesResponse {
  /**
   * Sorted by name.
   */
  'policies'?: (_hfi_v1_Policy)[];
  /**
   * Store revision the listing started at (the same on every page of one
   * listing): a watch from here misses nothing the pages did not show.
   */
  'revision'?: (number | string | Long);
  /**
   * Non-empty when more entries follow: pass it as page_token.
   */
  'nextPageToken'?: (string);
  /**
   * Values stored under a policy name that do not parse or validate
   * (written by another tool), in this page's name range. They are never
   * pushed to proxies; DeletePolicy removes them.
   */
  'invalidPolicies'?: (_hfi_v1_InvalidPolicy)[];
  /**
   * The pause switch (see PausePolicies).
   */
  'pause'?: (_hfi_v1_PauseState | null);
}

export interface ListPoliciesResponse__Output {
  /**
   * Sorted by name.
   */
  'policies': (_hfi_v1_Policy__Output)[];
  /**
   * Store revision the listing started at (the same on every page of one
   * listing): a watch from here misses nothing the pages did not show.
   */
  'revision': (number);
  /**
   * Non-empty when more entries follow: pass it as page_token.
   */
  'nextPageToken': (string);
  /**
   * Values stored under a policy name that do not parse or validate
   * (written by another tool), in this page's name range. They are never
   * pushed to proxies; DeletePolicy removes them.
   */
  'invalidPolicies': (_hfi_v1_InvalidPolicy__Output)[];
  /**
   * The pause switch (see PausePolicies).
   */
  'pause': (_hfi_v1_PauseState__Output | null);
}
