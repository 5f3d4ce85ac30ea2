/**
 * The share of Healow's per-practice limit the gateway spends itself. The rest covers requests
 * that count at Healow but never pass through here: the browser's own /authorize redirects.
 */
export function gatewayBudget (healowLimitPerMinute: number): number {
  return Math.max(1, healowLimitPerMinute - Math.ceil(healowLimitPerMinute * 0.04))
}
