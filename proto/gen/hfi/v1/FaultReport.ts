// Original file: proto/hfi/v1/config_discovery.proto

import type { FaultCount as _hfi_v1_FaultCount, FaultCount__Output as _hfi_v1_FaultCount__Output } from '../../hfi/v1/FaultCount.ts';

/**
 * What the filter injected, per policy rule. Counts are cumulative since the
 * filter VM started (monotonic); `previous` repeats the counts of the last
 * report this VM sent, so the server adds total - previous and never counts
 * twice what another connection (another replica, the server before a
 * restart) already got. Only rules whose counts changed are listed, at most
 * 128 per report (the rest follow in the next).
 */
export interface FaultReport {
  /**
   * 1, 2, ... per VM; a gap means a report was lost.
   */
  'seq'?: (number);
  'counts'?: (_hfi_v1_FaultCount)[];
}

/**
 * What the filter injected, per policy rule. Counts are cumulative since the
 * filter VM started (monotonic); `previous` repeats the counts of the last
 * report this VM sent, so the server adds total - previous and never counts
 * twice what another connection (another replica, the server before a
 * restart) already got. Only rules whose counts changed are listed, at most
 * 128 per report (the rest follow in the next).
 */
export interface FaultReport__Output {
  /**
   * 1, 2, ... per VM; a gap means a report was lost.
   */
  'seq': (number);
  'counts': (_hfi_v1_FaultCount__Output)[];
}
