/**
 * The share of Healow's per-practice limit the gateway spends itself. The rest covers requests
 * that count at Healow but never pass through here: the browser's own /authorize redirects.
 */
export function gatewayBudget (healowLimitPerMinute: number): number {
  return Math.max(1, healowLimitPerMinute - Math.ceil(healowLimitPerMinute * 0.04))
}

/**
 * Slots of the practice's window the sync leaves to interactive reads (a client read during a
 * sync finds one at once): 5% of the gateway's share, at least one.
 */
export function interactiveReserve (healowLimitPerMinute: number): number {
  return Math.max(1, Math.ceil(gatewayBudget(healowLimitPerMinute) * 0.05))
}
