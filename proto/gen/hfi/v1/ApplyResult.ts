// Original file: proto/hfi/v1/policy_service.proto

export const ApplyResult = {
  APPLY_RESULT_UNSPECIFIED: 'APPLY_RESULT_UNSPECIFIED',
  APPLY_RESULT_CREATED: 'APPLY_RESULT_CREATED',
  APPLY_RESULT_CONFIGURED: 'APPLY_RESULT_CONFIGURED',
  APPLY_RESULT_UNCHANGED: 'APPLY_RESULT_UNCHANGED',
} as const;

export type ApplyResult =
  | 'APPLY_RESULT_UNSPECIFIED'
  | 0
  | 'APPLY_RESULT_CREATED'
  | 1
  | 'APPLY_RESULT_CONFIGURED'
  | 2
  | 'APPLY_RESULT_UNCHANGED'
  | 3

export type ApplyResult__Output = typeof ApplyResult[keyof typeof ApplyResult]
