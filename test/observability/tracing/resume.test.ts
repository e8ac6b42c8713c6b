/**
 * A durable execution resumed by another service instance continues its caller's trace: the first
 * instance closes while a call hangs (its run is abandoned, its spans flushed), the second claims
 * the execution from the same SQLite store and finishes it; both runs are children of the caller's
 * span, in its trace, and the resumed call's traceparent is its new attempt span's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../durable/helpers.js';
import { ok, startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver.js';
import { startService, type TestService } from '../support.js';

const TRACE_ID = '5bf92f3577b34da6a3ce929d0e0e4799';
const CALLER_SPAN = '10f067aa0ba902b8';

function flow(upstream: FaultUpstream): Record<string, unknown> {
  return {
    name: 'resumable',
    components: { api: { adapter: 'http', base_url: upstream.url } },
    phases: [
      { id: 'first', component: 'api', request: { method: 'POST', path: '/first' }, output: '{% result.body %}' },
      { id: 'slow', component: 'api', request: { method: 'POST', path: '/slow' }, output: '{% result.body %}', timeout_ms: 60_000 },
    ],
  };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('a resumed durable execution', () => {
  let receiver: OtlpReceiver;
  let upstream: FaultUpstream;
  let db: TestDatabase;
  let first: TestService | undefined;
  let second: TestService | undefined;
  let executionId: string;
  let spans: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = (await startFaultUpstream()).script('POST /first', ok({ id: 1 })).script('POST /slow', { hang: true }, ok({ done: true }));
    db = await createTestDatabase('sqlite');
    const env = { ...db.env, PERSISTENCE: 'all', EGRESS_ALLOW: '127.0.0.1', WORKER_POLL_MS: '50', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    first = await startService([flow(upstream)], env);
    const accepted = await first.app.inject({
      method: 'POST',
      url: '/flows/resumable/execute',
      payload: { input: {} },
      headers: { prefer: 'respond-async', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    });
    expect(accepted.statusCode).toBe(202);
    executionId = accepted.json<{ executionId: string }>().executionId;
    await upstream.waitForCalls('POST /slow', 1, 30_000);
    await first.dispose();
    first = undefined;
    second = await startService([flow(upstream)], env);
    const service = second;
    await until(async () => {
      const record = (await service.app.inject({ method: 'GET', url: `/executions/${executionId}` })).json<{ status: string }>();
      return record.status === 'succeeded' ? record : undefined;
    }, 'the resumed execution to succeed');
    await second.dispose();
    second = undefined;
    spans = receiver.spans;
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await upstream?.close();
    await receiver?.close();
    await db?.drop();
  });

  it('has one execution span per run, both children of the caller’s span in its trace', () => {
    const runs = spans.filter((span) => span.name === 'flowd execute resumable').sort((a, b) => Number(a.attributes['flowd.execution.run']) - Number(b.attributes['flowd.execution.run']));
    expect(runs.map((span) => [span.attributes['flowd.execution.run'], span.traceId, span.parentSpanId, span.attributes['flowd.execution.id']])).toEqual([
      [1, TRACE_ID, CALLER_SPAN, executionId],
      [2, TRACE_ID, CALLER_SPAN, executionId],
    ]);
    expect(runs[0]!.attributes['flowd.execution.abandoned']).toEqual(expect.any(String));
    expect(runs[1]!.attributes['flowd.status']).toBe('succeeded');
    // The second run restored `first` from its checkpoint and ran `slow` again.
    const phasesOf = (run: ReceivedSpan): [unknown, unknown][] =>
      spans.filter((span) => span.parentSpanId === run.spanId).map((span) => [span.attributes['flowd.phase.id'], span.attributes['flowd.phase.restored'] ?? false]);
    expect(phasesOf(runs[1]!)).toEqual([['first', true], ['slow', false]]);
    expect(upstream.count('POST /first')).toBe(1);
  });

  it('sends the resumed call a traceparent of its new attempt span, in the same trace', () => {
    const calls = upstream.calls('POST /slow');
    expect(calls).toHaveLength(2);
    const attempts = spans.filter((span) => span.name === 'flowd call api' && span.attributes['flowd.phase.id'] === 'slow');
    expect(attempts).toHaveLength(2);
    expect(calls.map((call) => String(call.headers['traceparent']).split('-')[2]).sort()).toEqual(attempts.map((span) => span.spanId).sort());
    expect(new Set(attempts.map((span) => span.traceId))).toEqual(new Set([TRACE_ID]));
  });
});
