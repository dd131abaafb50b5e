// Original file: proto/hfi/v1/policy_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyPolicyRequest as _hfi_v1_ApplyPolicyRequest, ApplyPolicyRequest__Output as _hfi_v1_ApplyPolicyRequest__Output } from '../../hfi/v1/ApplyPolicyRequest.ts';
import type { ApplyPolicyResponse as _hfi_v1_ApplyPolicyResponse, ApplyPolicyResponse__Output as _hfi_v1_ApplyPolicyResponse__Output } from '../../hfi/v1/ApplyPolicyResponse.ts';
import type { DeletePolicyRequest as _hfi_v1_DeletePolicyRequest, DeletePolicyRequest__Output as _hfi_v1_DeletePolicyRequest__Output } from '../../hfi/v1/DeletePolicyRequest.ts';
import type { DeletePolicyResponse as _hfi_v1_DeletePolicyResponse, DeletePolicyResponse__Output as _hfi_v1_DeletePolicyResponse__Output } from '../../hfi/v1/DeletePolicyResponse.ts';
import type { GetPolicyRequest as _hfi_v1_GetPolicyRequest, GetPolicyRequest__Output as _hfi_v1_GetPolicyRequest__Output } from '../../hfi/v1/GetPolicyRequest.ts';
import type { GetPolicyResponse as _hfi_v1_GetPolicyResponse, GetPolicyResponse__Output as _hfi_v1_GetPolicyResponse__Output } from '../../hfi/v1/GetPolicyResponse.ts';
import type { GetPolicyStatusRequest as _hfi_v1_GetPolicyStatusRequest, GetPolicyStatusRequest__Output as _hfi_v1_GetPolicyStatusRequest__Output } from '../../hfi/v1/GetPolicyStatusRequest.ts';
import type { GetPolicyStatusResponse as _hfi_v1_GetPolicyStatusResponse, GetPolicyStatusResponse__Output as _hfi_v1_GetPolicyStatusResponse__Output } from '../../hfi/v1/GetPolicyStatusResponse.ts';
import type { ListPoliciesRequest as _hfi_v1_ListPoliciesRequest, ListPoliciesRequest__Output as _hfi_v1_ListPoliciesRequest__Output } from '../../hfi/v1/ListPoliciesRequest.ts';
import type { ListPoliciesResponse as _hfi_v1_ListPoliciesResponse, ListPoliciesResponse__Output as _hfi_v1_ListPoliciesResponse__Output } from '../../hfi/v1/ListPoliciesResponse.ts';
import type { PauseRequest as _hfi_v1_PauseRequest, PauseRequest__Output as _hfi_v1_PauseRequest__Output } from '../../hfi/v1/PauseRequest.ts';
import type { PauseResponse as _hfi_v1_PauseResponse, PauseResponse__Output as _hfi_v1_PauseResponse__Output } from '../../hfi/v1/PauseResponse.ts';
import type { PolicyEvent as _hfi_v1_PolicyEvent, PolicyEvent__Output as _hfi_v1_PolicyEvent__Output } from '../../hfi/v1/PolicyEvent.ts';
import type { WatchPoliciesRequest as _hfi_v1_WatchPoliciesRequest, WatchPoliciesRequest__Output as _hfi_v1_WatchPoliciesRequest__Output } from '../../hfi/v1/WatchPoliciesRequest.ts';

export interface PolicyServiceClient extends grpc.Client {
  /**
   * Create or update. Returns the stored policy with its version.
   */
  ApplyPolicy(argument: _hfi_v1_ApplyPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  ApplyPolicy(argument: _hfi_v1_ApplyPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  ApplyPolicy(argument: _hfi_v1_ApplyPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  ApplyPolicy(argument: _hfi_v1_ApplyPolicyRequest, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Create or update. Returns the stored policy with its version.
   */
  applyPolicy(argument: _hfi_v1_ApplyPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  applyPolicy(argument: _hfi_v1_ApplyPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  applyPolicy(argument: _hfi_v1_ApplyPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  applyPolicy(argument: _hfi_v1_ApplyPolicyRequest, callback: grpc.requestCallback<_hfi_v1_ApplyPolicyResponse__Output>): grpc.ClientUnaryCall;
  
  DeletePolicy(argument: _hfi_v1_DeletePolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  DeletePolicy(argument: _hfi_v1_DeletePolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  DeletePolicy(argument: _hfi_v1_DeletePolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  DeletePolicy(argument: _hfi_v1_DeletePolicyRequest, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  deletePolicy(argument: _hfi_v1_DeletePolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  deletePolicy(argument: _hfi_v1_DeletePolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  deletePolicy(argument: _hfi_v1_DeletePolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  deletePolicy(argument: _hfi_v1_DeletePolicyRequest, callback: grpc.requestCallback<_hfi_v1_DeletePolicyResponse__Output>): grpc.ClientUnaryCall;
  
  GetPolicy(argument: _hfi_v1_GetPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  GetPolicy(argument: _hfi_v1_GetPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  GetPolicy(argument: _hfi_v1_GetPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  GetPolicy(argument: _hfi_v1_GetPolicyRequest, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  getPolicy(argument: _hfi_v1_GetPolicyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  getPolicy(argument: _hfi_v1_GetPolicyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  getPolicy(argument: _hfi_v1_GetPolicyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  getPolicy(argument: _hfi_v1_GetPolicyRequest, callback: grpc.requestCallback<_hfi_v1_GetPolicyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Per policy: target, rules, faults, expiry and convergence across proxies.
   */
  GetPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  GetPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  GetPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  GetPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Per policy: target, rules, faults, expiry and convergence across proxies.
   */
  getPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  getPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  getPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  getPolicyStatus(argument: _hfi_v1_GetPolicyStatusRequest, callback: grpc.requestCallback<_hfi_v1_GetPolicyStatusResponse__Output>): grpc.ClientUnaryCall;
  
  ListPolicies(argument: _hfi_v1_ListPoliciesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  ListPolicies(argument: _hfi_v1_ListPoliciesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  ListPolicies(argument: _hfi_v1_ListPoliciesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  ListPolicies(argument: _hfi_v1_ListPoliciesRequest, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  listPolicies(argument: _hfi_v1_ListPoliciesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  listPolicies(argument: _hfi_v1_ListPoliciesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  listPolicies(argument: _hfi_v1_ListPoliciesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  listPolicies(argument: _hfi_v1_ListPoliciesRequest, callback: grpc.requestCallback<_hfi_v1_ListPoliciesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The kill switch: stop injecting (every policy, a namespace's workloads,
   * or one policy) until resumed. Stored, pushed like any change, kept
   * across restarts; paused policies can still be applied and deleted.
   */
  PausePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  PausePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  PausePolicies(argument: _hfi_v1_PauseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  PausePolicies(argument: _hfi_v1_PauseRequest, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The kill switch: stop injecting (every policy, a namespace's workloads,
   * or one policy) until resumed. Stored, pushed like any change, kept
   * across restarts; paused policies can still be applied and deleted.
   */
  pausePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  pausePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  pausePolicies(argument: _hfi_v1_PauseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  pausePolicies(argument: _hfi_v1_PauseRequest, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  
  ResumePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  ResumePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  ResumePolicies(argument: _hfi_v1_PauseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  ResumePolicies(argument: _hfi_v1_PauseRequest, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  resumePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  resumePolicies(argument: _hfi_v1_PauseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  resumePolicies(argument: _hfi_v1_PauseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  resumePolicies(argument: _hfi_v1_PauseRequest, callback: grpc.requestCallback<_hfi_v1_PauseResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Change events as they happen.
   */
  WatchPolicies(argument: _hfi_v1_WatchPoliciesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hfi_v1_PolicyEvent__Output>;
  WatchPolicies(argument: _hfi_v1_WatchPoliciesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hfi_v1_PolicyEvent__Output>;
  /**
   * Change events as they happen.
   */
  watchPolicies(argument: _hfi_v1_WatchPoliciesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hfi_v1_PolicyEvent__Output>;
  watchPolicies(argument: _hfi_v1_WatchPoliciesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hfi_v1_PolicyEvent__Output>;
  
}

export interface PolicyServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Create or update. Returns the stored policy with its version.
   */
  ApplyPolicy: grpc.handleUnaryCall<_hfi_v1_ApplyPolicyRequest__Output, _hfi_v1_ApplyPolicyResponse>;
  
  DeletePolicy: grpc.handleUnaryCall<_hfi_v1_DeletePolicyRequest__Output, _hfi_v1_DeletePolicyResponse>;
  
  GetPolicy: grpc.handleUnaryCall<_hfi_v1_GetPolicyRequest__Output, _hfi_v1_GetPolicyResponse>;
  
  /**
   * Per policy: target, rules, faults, expiry and convergence across proxies.
   */
  GetPolicyStatus: grpc.handleUnaryCall<_hfi_v1_GetPolicyStatusRequest__Output, _hfi_v1_GetPolicyStatusResponse>;
  
  ListPolicies: grpc.handleUnaryCall<_hfi_v1_ListPoliciesRequest__Output, _hfi_v1_ListPoliciesResponse>;
  
  /**
   * The kill switch: stop injecting (every policy, a namespace's workloads,
   * or one policy) until resumed. Stored, pushed like any change, kept
   * across restarts; paused policies can still be applied and deleted.
   */
  PausePolicies: grpc.handleUnaryCall<_hfi_v1_PauseRequest__Output, _hfi_v1_PauseResponse>;
  
  ResumePolicies: grpc.handleUnaryCall<_hfi_v1_PauseRequest__Output, _hfi_v1_PauseResponse>;
  
  /**
   * Change events as they happen.
   */
  WatchPolicies: grpc.handleServerStreamingCall<_hfi_v1_WatchPoliciesRequest__Output, _hfi_v1_PolicyEvent>;
  
}

export interface PolicyServiceDefinition extends grpc.ServiceDefinition {
  ApplyPolicy: MethodDefinition<_hfi_v1_ApplyPolicyRequest, _hfi_v1_ApplyPolicyResponse, _hfi_v1_ApplyPolicyRequest__Output, _hfi_v1_ApplyPolicyResponse__Output>
  DeletePolicy: MethodDefinition<_hfi_v1_DeletePolicyRequest, _hfi_v1_DeletePolicyResponse, _hfi_v1_DeletePolicyRequest__Output, _hfi_v1_DeletePolicyResponse__Output>
  GetPolicy: MethodDefinition<_hfi_v1_GetPolicyRequest, _hfi_v1_GetPolicyResponse, _hfi_v1_GetPolicyRequest__Output, _hfi_v1_GetPolicyResponse__Output>
  GetPolicyStatus: MethodDefinition<_hfi_v1_GetPolicyStatusRequest, _hfi_v1_GetPolicyStatusResponse, _hfi_v1_GetPolicyStatusRequest__Output, _hfi_v1_GetPolicyStatusResponse__Output>
  ListPolicies: MethodDefinition<_hfi_v1_ListPoliciesRequest, _hfi_v1_ListPoliciesResponse, _hfi_v1_ListPoliciesRequest__Output, _hfi_v1_ListPoliciesResponse__Output>
  PausePolicies: MethodDefinition<_hfi_v1_PauseRequest, _hfi_v1_PauseResponse, _hfi_v1_PauseRequest__Output, _hfi_v1_PauseResponse__Output>
  ResumePolicies: MethodDefinition<_hfi_v1_PauseRequest, _hfi_v1_PauseResponse, _hfi_v1_PauseRequest__Output, _hfi_v1_PauseResponse__Output>
  WatchPolicies: MethodDefinition<_hfi_v1_WatchPoliciesRequest, _hfi_v1_PolicyEvent, _hfi_v1_WatchPoliciesRequest__Output, _hfi_v1_PolicyEvent__Output>
}
