import type { Condition, ConditionStatus, ConditionType, Reason } from './customimage.ts';

/**
 * Sets one condition, stamping observedGeneration and keeping lastTransitionTime unless the status
 * flips (the Kubernetes API conventions). Returns a new array; never mutates its input.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
  status: ConditionStatus,
  reason: Reason,
  message: string,
  generation: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const existing = conditions?.find((c) => c.type === type);
  const lastTransitionTime = existing && existing.status === status ? existing.lastTransitionTime : now.toISOString();
  const next: Condition = { type, status, reason, message, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  return [...(conditions ?? []).filter((c) => c.type !== type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
