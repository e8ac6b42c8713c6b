import { z } from 'zod';
import { ComponentError } from '../../errors.js';
import { compileTemplate, type CompiledTemplate } from '../../expressions/index.js';
import { sleep } from '../../engine/sleep.js';
import type { ComponentAdapter } from '../types.js';

const MockResponseSchema = z.strictObject({
  status: z.number().int().min(100).max(599).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  latency_ms: z.number().int().min(0).max(600_000).optional(),
});

export const MockConfigSchema = z.strictObject({
  /** Keyed by `"METHOD /path"` of the request, or `default`. Bodies may use expressions over `request`. */
  responses: z.record(z.string(), MockResponseSchema).optional(),
  /** Answers in order, one per call; the last one repeats. Takes precedence over `responses`. */
  sequence: z.array(MockResponseSchema).min(1).optional(),
  latency_ms: z.number().int().min(0).max(600_000).optional(),
  failure_rate: z.number().min(0).max(1).optional(),
  failure_status: z.number().int().min(400).max(599).optional(),
});
export type MockConfig = z.infer<typeof MockConfigSchema>;

interface CompiledResponse {
  status: number;
  headers: Record<string, string>;
  body: CompiledTemplate;
  latencyMs: number | undefined;
}

export interface MockAdapterOptions {
  /** Source of randomness for `failure_rate`; injectable so tests are deterministic. */
  random?: () => number;
}

/**
 * Canned responses with optional latency and failure rate, for demos and for testing flows
 * without their real upstreams. Results have the `http` adapter's shape: `{ status, headers, body }`,
 * and a status of 400 or more fails like an upstream would.
 */
export function createMockAdapter(options: MockAdapterOptions = {}): ComponentAdapter<MockConfig> {
  const random = options.random ?? Math.random;
  return {
    kind: 'mock',
    configSchema: MockConfigSchema,
    create(config, init) {
      const compile = (response: z.infer<typeof MockResponseSchema>, where: string): CompiledResponse => ({
        status: response.status ?? 200,
        headers: response.headers ?? {},
        body: compileTemplate(response.body ?? null, `components.${init.name}.${where}.body`),
        latencyMs: response.latency_ms,
      });
      const sequence = config.sequence?.map((response, i) => compile(response, `sequence[${i}]`));
      const responses = new Map(
        Object.entries(config.responses ?? {}).map(([key, response]) => [key, compile(response, `responses.${key}`)]),
      );
      const fallback = responses.get('default') ?? compile({ body: null }, 'default');
      let calls = 0;

      const pick = (request: unknown): CompiledResponse => {
        if (sequence !== undefined) return sequence[Math.min(calls, sequence.length - 1)]!;
        if (typeof request === 'object' && request !== null) {
          const { method, path } = request as { method?: unknown; path?: unknown };
          const key = `${typeof method === 'string' ? method.toUpperCase() : 'GET'} ${typeof path === 'string' ? path : '/'}`;
          const match = responses.get(key);
          if (match !== undefined) return match;
        }
        return fallback;
      };

      return {
        async execute(request, ctx) {
          const response = pick(request);
          calls += 1;
          const latency = response.latencyMs ?? config.latency_ms ?? 0;
          if (latency > 0) await sleep(latency, ctx.signal);
          if (ctx.signal.aborted) throw ctx.signal.reason;
          if (config.failure_rate !== undefined && random() < config.failure_rate) {
            const status = config.failure_status ?? 503;
            throw new ComponentError(`mock component "${init.name}" failed (simulated, status ${status})`, { kind: 'status', upstreamStatus: status });
          }
          const body = await response.body.evaluate({ request });
          if (response.status >= 400) {
            throw new ComponentError(`component "${init.name}" answered ${response.status}`, {
              kind: 'status',
              upstreamStatus: response.status,
              body,
              ...retryAfterOf(response.headers),
            });
          }
          return { status: response.status, headers: response.headers, body };
        },
        describe: () => ({ target: 'mock (canned responses)' }),
      };
    },
  };
}

function retryAfterOf(headers: Record<string, string>): { retryAfterSeconds?: number } {
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) ? { retryAfterSeconds: seconds } : {};
}
