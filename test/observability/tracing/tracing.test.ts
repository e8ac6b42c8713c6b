/**
 * OpenTelemetry tracing end to end: a real service exports spans with the OTel SDK's OTLP/HTTP
 * exporter to a receiver in this test, while its flows call a local fault upstream. Checks the span
 * tree (execution → phases → attempts, compensations), the caller's traceparent as parent, the
 * traceparent each upstream call carried (the attempt span's), no secrets or input values in the
 * spans, the sampler, and that closing the service flushes what is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';
import { ConfigurationError } from '../../../src/errors.js';
import { createTracing, tracesUrl } from '../../../src/observability/tracing/tracing.js';
import { ok, startFaultUpstream, type FaultUpstream } from '../../helpers/fault-upstream.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver.js';
import { startService, type TestService } from '../support.js';

const CANARY = 'canary-otel-5d1c9e7a-secret';
const INPUT_VALUE = 'input-value-8e2b41f0';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
// Spans are exported only when the service closes (an hour between scheduled exports).
const OTEL = { OTEL_BSP_SCHEDULE_DELAY: '3600000', OTEL_SERVICE_NAME: 'flowd-under-test' };

function flows(upstream: FaultUpstream): Record<string, unknown>[] {
  return [
    {
      name: 'traced',
      version: '1.2.0',
      components: { api: { adapter: 'http', base_url: upstream.url, headers: { 'x-canary': '${secret:CANARY}' } } },
      phases: [
        {
          id: 'fetch',
          component: 'api',
          request: { method: 'POST', path: '/echo', body: { value: '{% input.value %}' } },
          output: '{% result.body %}',
          retry_policy: { max_attempts: 3, initial_delay_ms: 1, jitter: 'none' },
        },
        { id: 'shape', component: 'transform', request: { echoed: '{% phases.fetch.echoed %}' } },
      ],
    },
    {
      name: 'undo',
      transactional: true,
      components: { api: { adapter: 'http', base_url: upstream.url } },
      phases: [
        {
          id: 'book',
          component: 'api',
          request: { method: 'POST', path: '/bookings' },
          output: '{% result.body %}',
          compensate: { request: { method: 'DELETE', path: "{% '/bookings/' & output.id %}" } },
        },
        { id: 'pay', component: 'api', request: { method: 'POST', path: '/payments' } },
      ],
    },
    { name: 'outer', phases: [{ id: 'inner', flow: 'traced', input: "{% {'value': 'nested'} %}" }] },
  ];
}

const spanIdOf = (traceparent: unknown): string | undefined => (typeof traceparent === 'string' ? traceparent.split('-')[2] : undefined);
const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((span) => span.name === name);
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan): ReceivedSpan[] => spans.filter((span) => span.parentSpanId === parent.spanId);

describe('spans of executions, exported over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let upstream: FaultUpstream;
  let service: TestService;
  let spans: ReceivedSpan[];
  let tracedId: string;
  let undoId: string;
  let exportedBeforeClose: number;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = (await startFaultUpstream())
      .script('POST /echo', { status: 503, body: { error: 'busy' } }, ok({ echoed: true }))
      .script('POST /bookings', ok({ id: 'b-1' }))
      .script('POST /payments', { status: 400, body: { error: 'declined' } })
      .script('DELETE /bookings/b-1', ok({ deleted: true }));
    service = await startService(flows(upstream), { EGRESS_ALLOW: '127.0.0.1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...OTEL }, { env: { CANARY } });
    const traced = await service.app.inject({
      method: 'POST',
      url: '/flows/traced/execute',
      payload: { input: { value: INPUT_VALUE } },
      headers: { traceparent: TRACEPARENT },
    });
    expect(traced.statusCode).toBe(200);
    tracedId = traced.json<{ executionId: string }>().executionId;
    const undo = await service.app.inject({ method: 'POST', url: '/flows/undo/execute', payload: { input: {} } });
    expect(undo.statusCode).toBe(502);
    undoId = undo.json<{ execution?: { executionId?: string } }>().execution?.executionId ?? JSON.stringify(undo.json());
    const outer = await service.app.inject({ method: 'POST', url: '/flows/outer/execute', payload: { input: {} } });
    expect(outer.statusCode).toBe(200);
    exportedBeforeClose = receiver.spans.length;
    await service.dispose();
    spans = receiver.spans;
  });

  afterAll(async () => {
    await upstream?.close();
    await receiver?.close();
  });

  it('exports nothing until the service closes, then everything (the batch is flushed at shutdown), as JSON', () => {
    expect(exportedBeforeClose).toBe(0);
    expect(spans.length).toBeGreaterThanOrEqual(10);
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']));
    expect(receiver.strays).toEqual([]);
    expect(new Set(spans.map((span) => span.serviceName))).toEqual(new Set(['flowd-under-test']));
  });

  it('makes the execution span a child of the caller’s traceparent, in its trace', () => {
    const [execution, ...more] = byName(spans, 'flowd execute traced').filter((span) => span.traceId === TRACE_ID);
    expect(more).toEqual([]);
    expect(execution).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: CALLER_SPAN,
      statusCode: 0,
      attributes: { 'flowd.flow.name': 'traced', 'flowd.flow.version': '1.2.0', 'flowd.execution.id': tracedId, 'flowd.status': 'succeeded', 'flowd.execution.run': 1 },
    });
  });

  it('nests phases under the execution and one span per attempt under the phase; the retried attempt is an error', () => {
    const execution = byName(spans, 'flowd execute traced').find((span) => span.traceId === TRACE_ID)!;
    const phases = childrenOf(spans, execution);
    expect(phases.map((span) => span.name).sort()).toEqual(['flowd phase fetch', 'flowd phase shape']);
    const fetch = phases.find((span) => span.name === 'flowd phase fetch')!;
    expect(fetch.attributes).toMatchObject({ 'flowd.phase.id': 'fetch', 'flowd.phase.kind': 'call', 'flowd.component.name': 'api', 'flowd.status': 'succeeded', 'flowd.attempts': 2 });
    const attempts = childrenOf(spans, fetch).sort((a, b) => Number(a.attributes['flowd.attempt']) - Number(b.attributes['flowd.attempt']));
    expect(attempts.map((span) => [span.name, span.attributes['flowd.attempt'], span.attributes['flowd.attempt.outcome'], span.statusCode])).toEqual([
      ['flowd call api', 1, 'retried', 2],
      ['flowd call api', 2, 'succeeded', 0],
    ]);
    expect(attempts[0]!.attributes).toMatchObject({
      'flowd.error.code': 'FLOWD_ERR_COMPONENT_FAILED',
      'http.response.status_code': 503,
      'http.request.method': 'POST',
      'url.full': `${upstream.url}/echo`,
      'flowd.component.adapter': 'http',
    });
    expect(attempts[1]!.attributes).toMatchObject({ 'http.response.status_code': 200 });
    // Times come from the journal: children inside their parents, attempts one after the other.
    for (const child of [fetch, ...attempts]) {
      const parent = spans.find((span) => span.spanId === child.parentSpanId)!;
      expect(child.start >= parent.start && child.end <= parent.end).toBe(true);
    }
    expect(attempts[0]!.end <= attempts[1]!.start).toBe(true);
    // A pure transform has no attempt spans.
    expect(childrenOf(spans, phases.find((span) => span.name === 'flowd phase shape')!)).toEqual([]);
  });

  it('sends each upstream call the traceparent of its own attempt span', () => {
    const attempts = byName(spans, 'flowd call api').filter((span) => span.traceId === TRACE_ID);
    const sent = upstream.calls('POST /echo').map((call) => String(call.headers['traceparent'])).filter((value) => value.includes(TRACE_ID));
    expect(sent).toHaveLength(2);
    expect(sent.every((value) => value.startsWith(`00-${TRACE_ID}-`) && value.endsWith('-01'))).toBe(true);
    expect(sent.map(spanIdOf).sort()).toEqual(attempts.map((span) => span.spanId).sort());
  });

  it('traces a compensation: the failed phase, then a compensate span with its own attempt under the execution', () => {
    const execution = byName(spans, 'flowd execute undo')[0]!;
    expect(execution.parentSpanId).toBeUndefined();
    // No caller: the trace is the execution's own, its id the execution id.
    expect(execution.traceId).toBe(undoId.replaceAll('-', ''));
    expect(execution.statusCode).toBe(2);
    expect(execution.attributes).toMatchObject({ 'flowd.execution.id': undoId, 'flowd.status': 'compensated' });
    const children = childrenOf(spans, execution);
    expect(children.map((span) => span.name).sort()).toEqual(['flowd compensate book', 'flowd phase book', 'flowd phase pay']);
    const pay = children.find((span) => span.name === 'flowd phase pay')!;
    expect(pay.statusCode).toBe(2);
    expect(childrenOf(spans, pay).map((span) => [span.attributes['flowd.attempt.outcome'], span.attributes['http.response.status_code']])).toEqual([['failed', 400]]);
    const compensate = children.find((span) => span.name === 'flowd compensate book')!;
    expect(compensate.attributes).toMatchObject({ 'flowd.compensation': true, 'flowd.status': 'succeeded' });
    const undoCalls = childrenOf(spans, compensate);
    expect(undoCalls.map((span) => [span.name, span.attributes['http.request.method'], span.attributes['flowd.attempt.outcome']])).toEqual([['flowd call api', 'DELETE', 'succeeded']]);
    expect(spanIdOf(upstream.calls('DELETE /bookings/b-1')[0]?.headers['traceparent'])).toBe(undoCalls[0]!.spanId);
    expect(undoCalls[0]!.traceId).toBe(execution.traceId);
  });

  it('hangs a sub-flow’s execution under the sub-flow phase, in the parent’s trace', () => {
    const outer = byName(spans, 'flowd execute outer')[0]!;
    const [phase] = childrenOf(spans, outer);
    expect(phase?.name).toBe('flowd phase inner');
    const [call] = childrenOf(spans, phase!);
    expect(call?.name).toBe('flowd call traced');
    expect(call?.attributes).toMatchObject({ 'flowd.component.adapter': 'subflow', 'flowd.phase.id': 'inner' });
    const inner = byName(spans, 'flowd execute traced').find((span) => span.parentSpanId === call!.spanId);
    expect(inner?.traceId).toBe(outer.traceId);
    expect(inner?.attributes['flowd.execution.parent_id']).toBe(outer.attributes['flowd.execution.id']);
  });

  it('puts no secret and no input value in any span', () => {
    expect(upstream.calls('POST /echo')[0]?.headers['x-canary']).toBe(CANARY);
    const text = JSON.stringify(spans, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(INPUT_VALUE);
  });
});

describe('sampling and configuration', () => {
  it('exports no span with OTEL_TRACES_SAMPLER=always_off, and the upstream gets an unsampled traceparent', async () => {
    const receiver = await startOtlpReceiver();
    const upstream = (await startFaultUpstream()).script('POST /echo', ok({ echoed: true }));
    const [traced] = flows(upstream);
    const service = await startService([traced!], { EGRESS_ALLOW: '127.0.0.1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_off', ...OTEL }, { env: { CANARY } });
    try {
      const response = await service.app.inject({ method: 'POST', url: '/flows/traced/execute', payload: { input: { value: 'x' } }, headers: { traceparent: TRACEPARENT } });
      expect(response.statusCode).toBe(200);
    } finally {
      await service.dispose();
    }
    expect(receiver.spans).toEqual([]);
    const sent = String(upstream.calls('POST /echo')[0]?.headers['traceparent']);
    expect(sent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    await upstream.close();
    await receiver.close();
  });

  it('is off without an endpoint: no tracing is created', () => {
    expect(createTracing(loadConfig({}), { version: '0', mask: (text) => text })).toBeUndefined();
  });

  it('reads the standard endpoints: the traces endpoint as is, else the base endpoint + /v1/traces', () => {
    expect(tracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/v1/traces' }))).toBe('https://tempo.example/otlp/v1/traces');
  });

  it('refuses a bad endpoint, an unknown sampler, and a ratio for a sampler that takes none', () => {
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as Error).message;
      }
      throw new Error('expected a ConfigurationError');
    };
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(problems({ OTEL_TRACES_SAMPLER: 'sometimes' })).toContain('OTEL_TRACES_SAMPLER');
    expect(problems({ OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatch(/OTEL_TRACES_SAMPLER_ARG.*parentbased_traceidratio/);
    expect(problems({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toContain('OTEL_TRACES_SAMPLER_ARG');
  });
});
