import { DEFAULT_BULKHEAD_QUEUE } from '../flows/compiler.js';
import type { CallPhase, CompiledFlow, RetrySettings } from '../flows/compiled.js';
import { DEFAULT_HALF_OPEN_AFTER_MS } from '../engine/policies.js';
import type { ComponentDefinition } from '../flows/schema.js';
import { duration } from './markdown.js';

/** Policies in words, resolved with flowd's defaults, for generated documents. */

const RETRY_ON_TEXT: Record<string, string> = {
  network: 'network errors',
  timeout: 'attempt timeouts',
  '408': '408',
  '429': '429',
  '5xx': '5xx',
  transient: 'transient failures the adapter marks retryable',
};

export function retryText(retry: RetrySettings): string {
  if (retry.maxAttempts <= 1) return 'no retries (1 attempt)';
  const delays = `${duration(retry.initialDelayMs)} × ${retry.backoffFactor}ⁿ, capped at ${duration(retry.maxDelayMs)}${retry.jitter === 'full' ? ', full jitter' : ''}`;
  const on = [...retry.retryOn].map((item) => RETRY_ON_TEXT[item] ?? item).join(', ');
  const budget = retry.budgetMs === undefined ? '' : `; at most ${duration(retry.budgetMs)} in all`;
  return `up to ${retry.maxAttempts} attempts; backoff ${delays}; retries ${on === '' ? 'nothing' : on}${budget}`;
}

/** Longest time the retry policy itself can wait between attempts (before jitter shortens it). */
export function maxBackoffMs(retry: RetrySettings): number {
  let total = 0;
  for (let attempt = 1; attempt < retry.maxAttempts; attempt += 1) {
    total += Math.min(retry.maxDelayMs, retry.initialDelayMs * retry.backoffFactor ** (attempt - 1));
  }
  return Math.round(total);
}

/** Upper bound of one call phase: every attempt timing out plus every backoff, capped by the deadlines. */
export function worstCaseMs(phase: CallPhase, flow: CompiledFlow): number {
  const uncapped = phase.retry.maxAttempts * phase.attemptTimeoutMs + maxBackoffMs(phase.retry);
  return Math.min(uncapped, phase.timeoutMs ?? Infinity, phase.retry.budgetMs ?? Infinity, flow.timeoutMs);
}

export function breakerText(definition: ComponentDefinition['circuit_breaker']): string | undefined {
  if (definition === undefined) return undefined;
  const halfOpen = duration(definition.half_open_after_ms ?? DEFAULT_HALF_OPEN_AFTER_MS);
  if (definition.failure_ratio !== undefined) {
    const window = duration(definition.window_ms ?? 30_000);
    return `opens when ${Math.round(definition.failure_ratio * 100)}% of calls fail within ${window} (at least ${definition.min_calls ?? 10} calls); half-opens after ${halfOpen}`;
  }
  return `opens after ${definition.consecutive_failures ?? 5} consecutive failures; half-opens after ${halfOpen}`;
}

export function bulkheadText(definition: ComponentDefinition['bulkhead']): string | undefined {
  if (definition === undefined) return undefined;
  return `at most ${definition.max_concurrent} concurrent calls, ${definition.max_queue ?? DEFAULT_BULKHEAD_QUEUE} queued`;
}

export function componentDefinition(flow: CompiledFlow, name: string): ComponentDefinition | undefined {
  return flow.definition.components?.[name];
}
