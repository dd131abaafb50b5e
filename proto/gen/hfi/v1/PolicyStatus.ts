// Original file: proto/hfi/v1/policy_service.proto

import type { Selector as _hfi_v1_Selector, Selector__Output as _hfi_v1_Selector__Output } from '../../hfi/v1/Selector.ts';
import type { ProxyRef as _hfi_v1_ProxyRef, ProxyRef__Output as _hfi_v1_ProxyRef__Output } from '../../hfi/v1/ProxyRef.ts';
import type { FaultTotals as _hfi_v1_FaultTotals, FaultTotals__Output as _hfi_v1_FaultTotals__Output } from '../../hfi/v1/FaultTotals.ts';
import type { FaultCountStatus as _hfi_v1_FaultCountStatus, FaultCountStatus__Output as _hfi_v1_FaultCountStatus__Output } from '../../hfi/v1/FaultCountStatus.ts';
import type { Long } from '@grpc/proto-loader';

export interface PolicyStatus {
  'name'?: (string);
  'version'?: (number | string | Long);
  'target'?: (_hfi_v1_Selector | null);
  'ruleCount'?: (number);
  /**
   * "abort", "delay".
   */
  'faultTypes'?: (string)[];
  'expiresAtUnixMs'?: (number | string | Long);
  /**
   * Connected proxies whose selector matches the policy.
   */
  'targetedProxies'?: (number);
  /**
   * Proxies that ACKed a snapshot containing this version of the policy.
   */
  'acked'?: (_hfi_v1_ProxyRef)[];
  /**
   * Proxies that NACKed a snapshot containing it, with their reason.
   */
  'nacked'?: (_hfi_v1_ProxyRef)[];
  /**
   * Targeted proxies that have neither ACKed nor NACKed it yet.
   */
  'pending'?: (_hfi_v1_ProxyRef)[];
  /**
   * Counts over the targeted proxies (the lists above may be truncated).
   */
  'ackedCount'?: (number);
  'nackedCount'?: (number);
  'pendingCount'?: (number);
  /**
   * Wall clock (ms) at which a replica received the latest ACK of this version; 0 if none.
   */
  'lastAckUnixMs'?: (number | string | Long);
  /**
   * "inbound" or "outbound" (PolicySpec.direction); only proxies of that
   * direction are targeted.
   */
  'direction'?: (string);
  /**
   * Paused everywhere (globally or by name). A namespace pause is in
   * GetPolicyStatusResponse.pause.
   */
  'paused'?: (boolean);
  /**
   * Faults this policy injected, summed over every service (see faults).
   */
  'faultsTotal'?: (_hfi_v1_FaultTotals | null);
  /**
   * Per rule and (service, namespace) over every replica, then per proxy of
   * the answering replica. Counted by each control-plane process since it
   * started (since_unix_ms); at most 200 entries.
   */
  'faults'?: (_hfi_v1_FaultCountStatus)[];
}

export interface PolicyStatus__Output {
  'name': (string);
  'version': (number);
  'target': (_hfi_v1_Selector__Output | null);
  'ruleCount': (number);
  /**
   * "abort", "delay".
   */
  'faultTypes': (string)[];
  'expiresAtUnixMs': (number);
  /**
   * Connected proxies whose selector matches the policy.
   */
  'targetedProxies': (number);
  /**
   * Proxies that ACKed a snapshot containing this version of the policy.
   */
  'acked': (_hfi_v1_ProxyRef__Output)[];
  /**
   * Proxies that NACKed a snapshot containing it, with their reason.
   */
  'nacked': (_hfi_v1_ProxyRef__Output)[];
  /**
   * Targeted proxies that have neither ACKed nor NACKed it yet.
   */
  'pending': (_hfi_v1_ProxyRef__Output)[];
  /**
   * Counts over the targeted proxies (the lists above may be truncated).
   */
  'ackedCount': (number);
  'nackedCount': (number);
  'pendingCount': (number);
  /**
   * Wall clock (ms) at which a replica received the latest ACK of this version; 0 if none.
   */
  'lastAckUnixMs': (number);
  /**
   * "inbound" or "outbound" (PolicySpec.direction); only proxies of that
   * direction are targeted.
   */
  'direction': (string);
  /**
   * Paused everywhere (globally or by name). A namespace pause is in
   * GetPolicyStatusResponse.pause.
   */
  'paused': (boolean);
  /**
   * Faults this policy injected, summed over every service (see faults).
   */
  'faultsTotal': (_hfi_v1_FaultTotals__Output | null);
  /**
   * Per rule and (service, namespace) over every replica, then per proxy of
   * the answering replica. Counted by each control-plane process since it
   * started (since_unix_ms); at most 200 entries.
   */
  'faults': (_hfi_v1_FaultCountStatus__Output)[];
}
