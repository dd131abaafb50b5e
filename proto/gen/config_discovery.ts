import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortFault as _hfi_v1_AbortFault, AbortFault__Output as _hfi_v1_AbortFault__Output } from './hfi/v1/AbortFault.ts';
import type { Ack as _hfi_v1_Ack, Ack__Output as _hfi_v1_Ack__Output } from './hfi/v1/Ack.ts';
import type { ApplyPolicyRequest as _hfi_v1_ApplyPolicyRequest, ApplyPolicyRequest__Output as _hfi_v1_ApplyPolicyRequest__Output } from './hfi/v1/ApplyPolicyRequest.ts';
import type { ApplyPolicyResponse as _hfi_v1_ApplyPolicyResponse, ApplyPolicyResponse__Output as _hfi_v1_ApplyPolicyResponse__Output } from './hfi/v1/ApplyPolicyResponse.ts';
import type { ConfigDiscoveryServiceClient as _hfi_v1_ConfigDiscoveryServiceClient, ConfigDiscoveryServiceDefinition as _hfi_v1_ConfigDiscoveryServiceDefinition } from './hfi/v1/ConfigDiscoveryService.ts';
import type { ConfigSnapshot as _hfi_v1_ConfigSnapshot, ConfigSnapshot__Output as _hfi_v1_ConfigSnapshot__Output } from './hfi/v1/ConfigSnapshot.ts';
import type { DelayFault as _hfi_v1_DelayFault, DelayFault__Output as _hfi_v1_DelayFault__Output } from './hfi/v1/DelayFault.ts';
import type { DeletePolicyRequest as _hfi_v1_DeletePolicyRequest, DeletePolicyRequest__Output as _hfi_v1_DeletePolicyRequest__Output } from './hfi/v1/DeletePolicyRequest.ts';
import type { DeletePolicyResponse as _hfi_v1_DeletePolicyResponse, DeletePolicyResponse__Output as _hfi_v1_DeletePolicyResponse__Output } from './hfi/v1/DeletePolicyResponse.ts';
import type { Destination as _hfi_v1_Destination, Destination__Output as _hfi_v1_Destination__Output } from './hfi/v1/Destination.ts';
import type { Fault as _hfi_v1_Fault, Fault__Output as _hfi_v1_Fault__Output } from './hfi/v1/Fault.ts';
import type { FaultCount as _hfi_v1_FaultCount, FaultCount__Output as _hfi_v1_FaultCount__Output } from './hfi/v1/FaultCount.ts';
import type { FaultCountStatus as _hfi_v1_FaultCountStatus, FaultCountStatus__Output as _hfi_v1_FaultCountStatus__Output } from './hfi/v1/FaultCountStatus.ts';
import type { FaultReport as _hfi_v1_FaultReport, FaultReport__Output as _hfi_v1_FaultReport__Output } from './hfi/v1/FaultReport.ts';
import type { FaultTotals as _hfi_v1_FaultTotals, FaultTotals__Output as _hfi_v1_FaultTotals__Output } from './hfi/v1/FaultTotals.ts';
import type { GetPolicyRequest as _hfi_v1_GetPolicyRequest, GetPolicyRequest__Output as _hfi_v1_GetPolicyRequest__Output } from './hfi/v1/GetPolicyRequest.ts';
import type { GetPolicyResponse as _hfi_v1_GetPolicyResponse, GetPolicyResponse__Output as _hfi_v1_GetPolicyResponse__Output } from './hfi/v1/GetPolicyResponse.ts';
import type { GetPolicyStatusRequest as _hfi_v1_GetPolicyStatusRequest, GetPolicyStatusRequest__Output as _hfi_v1_GetPolicyStatusRequest__Output } from './hfi/v1/GetPolicyStatusRequest.ts';
import type { GetPolicyStatusResponse as _hfi_v1_GetPolicyStatusResponse, GetPolicyStatusResponse__Output as _hfi_v1_GetPolicyStatusResponse__Output } from './hfi/v1/GetPolicyStatusResponse.ts';
import type { GrpcMatch as _hfi_v1_GrpcMatch, GrpcMatch__Output as _hfi_v1_GrpcMatch__Output } from './hfi/v1/GrpcMatch.ts';
import type { HeaderControl as _hfi_v1_HeaderControl, HeaderControl__Output as _hfi_v1_HeaderControl__Output } from './hfi/v1/HeaderControl.ts';
import type { HeaderMatch as _hfi_v1_HeaderMatch, HeaderMatch__Output as _hfi_v1_HeaderMatch__Output } from './hfi/v1/HeaderMatch.ts';
import type { HeaderMutation as _hfi_v1_HeaderMutation, HeaderMutation__Output as _hfi_v1_HeaderMutation__Output } from './hfi/v1/HeaderMutation.ts';
import type { HeaderValue as _hfi_v1_HeaderValue, HeaderValue__Output as _hfi_v1_HeaderValue__Output } from './hfi/v1/HeaderValue.ts';
import type { Identity as _hfi_v1_Identity, Identity__Output as _hfi_v1_Identity__Output } from './hfi/v1/Identity.ts';
import type { InvalidPolicy as _hfi_v1_InvalidPolicy, InvalidPolicy__Output as _hfi_v1_InvalidPolicy__Output } from './hfi/v1/InvalidPolicy.ts';
import type { ListPoliciesRequest as _hfi_v1_ListPoliciesRequest, ListPoliciesRequest__Output as _hfi_v1_ListPoliciesRequest__Output } from './hfi/v1/ListPoliciesRequest.ts';
import type { ListPoliciesResponse as _hfi_v1_ListPoliciesResponse, ListPoliciesResponse__Output as _hfi_v1_ListPoliciesResponse__Output } from './hfi/v1/ListPoliciesResponse.ts';
import type { LognormalDelay as _hfi_v1_LognormalDelay, LognormalDelay__Output as _hfi_v1_LognormalDelay__Output } from './hfi/v1/LognormalDelay.ts';
import type { Metadata as _hfi_v1_Metadata, Metadata__Output as _hfi_v1_Metadata__Output } from './hfi/v1/Metadata.ts';
import type { Nack as _hfi_v1_Nack, Nack__Output as _hfi_v1_Nack__Output } from './hfi/v1/Nack.ts';
import type { PauseRequest as _hfi_v1_PauseRequest, PauseRequest__Output as _hfi_v1_PauseRequest__Output } from './hfi/v1/PauseRequest.ts';
import type { PauseResponse as _hfi_v1_PauseResponse, PauseResponse__Output as _hfi_v1_PauseResponse__Output } from './hfi/v1/PauseResponse.ts';
import type { PauseState as _hfi_v1_PauseState, PauseState__Output as _hfi_v1_PauseState__Output } from './hfi/v1/PauseState.ts';
import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from './hfi/v1/Policy.ts';
import type { PolicyEvent as _hfi_v1_PolicyEvent, PolicyEvent__Output as _hfi_v1_PolicyEvent__Output } from './hfi/v1/PolicyEvent.ts';
import type { PolicyServiceClient as _hfi_v1_PolicyServiceClient, PolicyServiceDefinition as _hfi_v1_PolicyServiceDefinition } from './hfi/v1/PolicyService.ts';
import type { PolicySpec as _hfi_v1_PolicySpec, PolicySpec__Output as _hfi_v1_PolicySpec__Output } from './hfi/v1/PolicySpec.ts';
import type { PolicyStatus as _hfi_v1_PolicyStatus, PolicyStatus__Output as _hfi_v1_PolicyStatus__Output } from './hfi/v1/PolicyStatus.ts';
import type { ProxyRef as _hfi_v1_ProxyRef, ProxyRef__Output as _hfi_v1_ProxyRef__Output } from './hfi/v1/ProxyRef.ts';
import type { ProxyStatus as _hfi_v1_ProxyStatus, ProxyStatus__Output as _hfi_v1_ProxyStatus__Output } from './hfi/v1/ProxyStatus.ts';
import type { QueryParamMatch as _hfi_v1_QueryParamMatch, QueryParamMatch__Output as _hfi_v1_QueryParamMatch__Output } from './hfi/v1/QueryParamMatch.ts';
import type { RequestMatch as _hfi_v1_RequestMatch, RequestMatch__Output as _hfi_v1_RequestMatch__Output } from './hfi/v1/RequestMatch.ts';
import type { ResponseFault as _hfi_v1_ResponseFault, ResponseFault__Output as _hfi_v1_ResponseFault__Output } from './hfi/v1/ResponseFault.ts';
import type { ResponseRateLimit as _hfi_v1_ResponseRateLimit, ResponseRateLimit__Output as _hfi_v1_ResponseRateLimit__Output } from './hfi/v1/ResponseRateLimit.ts';
import type { Rule as _hfi_v1_Rule, Rule__Output as _hfi_v1_Rule__Output } from './hfi/v1/Rule.ts';
import type { Selector as _hfi_v1_Selector, Selector__Output as _hfi_v1_Selector__Output } from './hfi/v1/Selector.ts';
import type { Serving as _hfi_v1_Serving, Serving__Output as _hfi_v1_Serving__Output } from './hfi/v1/Serving.ts';
import type { SnapshotPolicy as _hfi_v1_SnapshotPolicy, SnapshotPolicy__Output as _hfi_v1_SnapshotPolicy__Output } from './hfi/v1/SnapshotPolicy.ts';
import type { SourceMatch as _hfi_v1_SourceMatch, SourceMatch__Output as _hfi_v1_SourceMatch__Output } from './hfi/v1/SourceMatch.ts';
import type { StatusMatch as _hfi_v1_StatusMatch, StatusMatch__Output as _hfi_v1_StatusMatch__Output } from './hfi/v1/StatusMatch.ts';
import type { StreamConfigRequest as _hfi_v1_StreamConfigRequest, StreamConfigRequest__Output as _hfi_v1_StreamConfigRequest__Output } from './hfi/v1/StreamConfigRequest.ts';
import type { StringMatch as _hfi_v1_StringMatch, StringMatch__Output as _hfi_v1_StringMatch__Output } from './hfi/v1/StringMatch.ts';
import type { Subscribe as _hfi_v1_Subscribe, Subscribe__Output as _hfi_v1_Subscribe__Output } from './hfi/v1/Subscribe.ts';
import type { UniformDelay as _hfi_v1_UniformDelay, UniformDelay__Output as _hfi_v1_UniformDelay__Output } from './hfi/v1/UniformDelay.ts';
import type { WatchPoliciesRequest as _hfi_v1_WatchPoliciesRequest, WatchPoliciesRequest__Output as _hfi_v1_WatchPoliciesRequest__Output } from './hfi/v1/WatchPoliciesRequest.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hfi: {
    v1: {
      AbortFault: MessageTypeDefinition<_hfi_v1_AbortFault, _hfi_v1_AbortFault__Output>
      Ack: MessageTypeDefinition<_hfi_v1_Ack, _hfi_v1_Ack__Output>
      ApplyPolicyRequest: MessageTypeDefinition<_hfi_v1_ApplyPolicyRequest, _hfi_v1_ApplyPolicyRequest__Output>
      ApplyPolicyResponse: MessageTypeDefinition<_hfi_v1_ApplyPolicyResponse, _hfi_v1_ApplyPolicyResponse__Output>
      ApplyResult: EnumTypeDefinition
      ConfigDiscoveryService: SubtypeConstructor<typeof grpc.Client, _hfi_v1_ConfigDiscoveryServiceClient> & { service: _hfi_v1_ConfigDiscoveryServiceDefinition }
      ConfigSnapshot: MessageTypeDefinition<_hfi_v1_ConfigSnapshot, _hfi_v1_ConfigSnapshot__Output>
      DelayFault: MessageTypeDefinition<_hfi_v1_DelayFault, _hfi_v1_DelayFault__Output>
      DeletePolicyRequest: MessageTypeDefinition<_hfi_v1_DeletePolicyRequest, _hfi_v1_DeletePolicyRequest__Output>
      DeletePolicyResponse: MessageTypeDefinition<_hfi_v1_DeletePolicyResponse, _hfi_v1_DeletePolicyResponse__Output>
      Destination: MessageTypeDefinition<_hfi_v1_Destination, _hfi_v1_Destination__Output>
      Fault: MessageTypeDefinition<_hfi_v1_Fault, _hfi_v1_Fault__Output>
      FaultCount: MessageTypeDefinition<_hfi_v1_FaultCount, _hfi_v1_FaultCount__Output>
      FaultCountStatus: MessageTypeDefinition<_hfi_v1_FaultCountStatus, _hfi_v1_FaultCountStatus__Output>
      FaultReport: MessageTypeDefinition<_hfi_v1_FaultReport, _hfi_v1_FaultReport__Output>
      FaultTotals: MessageTypeDefinition<_hfi_v1_FaultTotals, _hfi_v1_FaultTotals__Output>
      GetPolicyRequest: MessageTypeDefinition<_hfi_v1_GetPolicyRequest, _hfi_v1_GetPolicyRequest__Output>
      GetPolicyResponse: MessageTypeDefinition<_hfi_v1_GetPolicyResponse, _hfi_v1_GetPolicyResponse__Output>
      GetPolicyStatusRequest: MessageTypeDefinition<_hfi_v1_GetPolicyStatusRequest, _hfi_v1_GetPolicyStatusRequest__Output>
      GetPolicyStatusResponse: MessageTypeDefinition<_hfi_v1_GetPolicyStatusResponse, _hfi_v1_GetPolicyStatusResponse__Output>
      GrpcMatch: MessageTypeDefinition<_hfi_v1_GrpcMatch, _hfi_v1_GrpcMatch__Output>
      HeaderControl: MessageTypeDefinition<_hfi_v1_HeaderControl, _hfi_v1_HeaderControl__Output>
      HeaderMatch: MessageTypeDefinition<_hfi_v1_HeaderMatch, _hfi_v1_HeaderMatch__Output>
      HeaderMutation: MessageTypeDefinition<_hfi_v1_HeaderMutation, _hfi_v1_HeaderMutation__Output>
      HeaderValue: MessageTypeDefinition<_hfi_v1_HeaderValue, _hfi_v1_HeaderValue__Output>
      Identity: MessageTypeDefinition<_hfi_v1_Identity, _hfi_v1_Identity__Output>
      InvalidPolicy: MessageTypeDefinition<_hfi_v1_InvalidPolicy, _hfi_v1_InvalidPolicy__Output>
      ListPoliciesRequest: MessageTypeDefinition<_hfi_v1_ListPoliciesRequest, _hfi_v1_ListPoliciesRequest__Output>
      ListPoliciesResponse: MessageTypeDefinition<_hfi_v1_ListPoliciesResponse, _hfi_v1_ListPoliciesResponse__Output>
      LognormalDelay: MessageTypeDefinition<_hfi_v1_LognormalDelay, _hfi_v1_LognormalDelay__Output>
      Metadata: MessageTypeDefinition<_hfi_v1_Metadata, _hfi_v1_Metadata__Output>
      Nack: MessageTypeDefinition<_hfi_v1_Nack, _hfi_v1_Nack__Output>
      PauseRequest: MessageTypeDefinition<_hfi_v1_PauseRequest, _hfi_v1_PauseRequest__Output>
      PauseResponse: MessageTypeDefinition<_hfi_v1_PauseResponse, _hfi_v1_PauseResponse__Output>
      PauseState: MessageTypeDefinition<_hfi_v1_PauseState, _hfi_v1_PauseState__Output>
      Policy: MessageTypeDefinition<_hfi_v1_Policy, _hfi_v1_Policy__Output>
      PolicyEvent: MessageTypeDefinition<_hfi_v1_PolicyEvent, _hfi_v1_PolicyEvent__Output>
      PolicyService: SubtypeConstructor<typeof grpc.Client, _hfi_v1_PolicyServiceClient> & { service: _hfi_v1_PolicyServiceDefinition }
      PolicySpec: MessageTypeDefinition<_hfi_v1_PolicySpec, _hfi_v1_PolicySpec__Output>
      PolicyStatus: MessageTypeDefinition<_hfi_v1_PolicyStatus, _hfi_v1_PolicyStatus__Output>
      ProxyRef: MessageTypeDefinition<_hfi_v1_ProxyRef, _hfi_v1_ProxyRef__Output>
      ProxyStatus: MessageTypeDefinition<_hfi_v1_ProxyStatus, _hfi_v1_ProxyStatus__Output>
      QueryParamMatch: MessageTypeDefinition<_hfi_v1_QueryParamMatch, _hfi_v1_QueryParamMatch__Output>
      RequestMatch: MessageTypeDefinition<_hfi_v1_RequestMatch, _hfi_v1_RequestMatch__Output>
      ResponseFault: MessageTypeDefinition<_hfi_v1_ResponseFault, _hfi_v1_ResponseFault__Output>
      ResponseRateLimit: MessageTypeDefinition<_hfi_v1_ResponseRateLimit, _hfi_v1_ResponseRateLimit__Output>
      Rule: MessageTypeDefinition<_hfi_v1_Rule, _hfi_v1_Rule__Output>
      Selector: MessageTypeDefinition<_hfi_v1_Selector, _hfi_v1_Selector__Output>
      Serving: MessageTypeDefinition<_hfi_v1_Serving, _hfi_v1_Serving__Output>
      SnapshotPolicy: MessageTypeDefinition<_hfi_v1_SnapshotPolicy, _hfi_v1_SnapshotPolicy__Output>
      SourceMatch: MessageTypeDefinition<_hfi_v1_SourceMatch, _hfi_v1_SourceMatch__Output>
      StatusMatch: MessageTypeDefinition<_hfi_v1_StatusMatch, _hfi_v1_StatusMatch__Output>
      StreamConfigRequest: MessageTypeDefinition<_hfi_v1_StreamConfigRequest, _hfi_v1_StreamConfigRequest__Output>
      StringMatch: MessageTypeDefinition<_hfi_v1_StringMatch, _hfi_v1_StringMatch__Output>
      Subscribe: MessageTypeDefinition<_hfi_v1_Subscribe, _hfi_v1_Subscribe__Output>
      UniformDelay: MessageTypeDefinition<_hfi_v1_UniformDelay, _hfi_v1_UniformDelay__Output>
      WatchPoliciesRequest: MessageTypeDefinition<_hfi_v1_WatchPoliciesRequest, _hfi_v1_WatchPoliciesRequest__Output>
    }
  }
}

