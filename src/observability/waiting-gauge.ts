import { Gauge, type Registry } from 'prom-client';
import type { WaitingCount } from '../store/signals/signal-store.js';

/**
 * `flowd_executions_waiting{flow,for}`: executions waiting (docs/waits.md), counted by the store
 * when Prometheus scrapes — every replica reports the same totals, so aggregate with max, not sum.
 */
export function registerWaitingGauge(registry: Registry, count: () => Promise<readonly WaitingCount[]>, onError: (error: unknown) => void): Gauge<'flow' | 'for'> {
  return new Gauge({
    name: 'flowd_executions_waiting',
    help: 'Executions waiting for a time, a signal or a callback, by flow and reason (the store\'s count, the same on every replica)',
    labelNames: ['flow', 'for'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await count();
        this.reset();
        for (const entry of counts) this.set({ flow: entry.flow, for: entry.waitingFor }, entry.count);
      } catch (error) {
        onError(error);
      }
    },
  });
}
