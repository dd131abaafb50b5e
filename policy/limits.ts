// Every limit the validator enforces (documented in README.md, "Policy reference").
export const LIMITS = {
  nameMaxLength: 63,
  /** metadata.version_label (the old control plane's version string). */
  versionLabelMaxLength: 128,
  maxLabels: 16,
  labelValueMaxLength: 63,
  maxRules: 32,
  maxHeaderMatches: 16,
  maxQueryMatches: 16,
  maxDelayMs: 120_000,
  maxStartDelayMs: 120_000,
  maxDurationSeconds: 2_592_000,
  percentageDecimals: 4,
  httpStatusMin: 200,
  httpStatusMax: 599,
  grpcStatusMax: 16,
  maxAbortBodyBytes: 4096,
  maxAbortHeaders: 16,
  headerValueMaxBytes: 8192,
  matchValueMaxBytes: 4096,
  maxEncodedPolicyBytes: 64 * 1024,
  /** Sum of the stored values (JSON) of every policy in the store, checked at apply. */
  maxTotalPolicyBytes: 64 * 1024 * 1024,
  selectorServiceMaxLength: 253,
  /** Response faults: the replacement body and the header mutations (set + add + remove together). */
  maxResponseBodyBytes: 16 * 1024,
  maxResponseHeaderMutations: 16,
  upstreamStatusMin: 100,
  upstreamStatusMax: 599,
  maxUpstreamStatusCodes: 16,
  /** response_rate_limit.kbps (KiB/s): up to 1 GiB/s. */
  maxRateLimitKbps: 1024 * 1024,
  /** DNS name (destination.host). */
  hostMaxLength: 253,
} as const;
