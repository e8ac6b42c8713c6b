/**
 * The span sink on journals built by hand: a resumed run (its journal rebuilt from stored entries)
 * continues the caller's trace kept in execution_started, an abandoned run ends its open spans,
 * a caller that did not sample is not sampled under the parent-based sampler, and attempts of a
 * journal the sink never saw start get no traceparent (the engine falls back).
 */
import { BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, AlwaysOnSampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../../src/engine/journal/entries.js';
import { Journal } from '../../../src/engine/journal/journal.js';
import { createSpanSink } from '../../../src/observability/tracing/span-sink.js';
import { ExecutionIdGenerator, traceIdOfExecution } from '../../../src/observability/tracing/trace-ids.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const sink = createSpanSink(provider.getTracer('test'), (text) => text.replaceAll('s3cr3t', '****'));
  return { exporter, provider, sink };
}

function storedEntries(traceFlags = '01'): JournalEntry[] {
  const at = Date.now() - 60_000;
  return [
    { type: 'execution_started', executionId: 'e-1', flow: 'orders', version: '2', hash: 'h', input: { card: 'x' }, traceId: TRACE_ID, parentSpanId: CALLER_SPAN, traceFlags, at, t: 1 },
    { type: 'run_started', run: 1, at, t: 1 },
    { type: 'phase_started', phase: 'reserve', kind: 'call', key: 'reserve', component: 'stock', at, t: 2 },
    { type: 'phase_ended', ref: 2, status: 'succeeded', attempts: 1, output: {}, at, t: 3 },
  ];
}

describe('span sink', () => {
  let provider: BasicTracerProvider | undefined;
  afterEach(async () => provider?.shutdown());

  it('continues the caller’s trace in a resumed run, as a run of its own, with attempts under their phase', () => {
    const parts = setup();
    provider = parts.provider;
    const journal = Journal.from(storedEntries(), () => Date.now(), undefined, [parts.sink]);
    journal.append({ type: 'run_started', run: 2 });
    const ref = journal.append({ type: 'phase_started', phase: 'charge', kind: 'call', key: 'charge', component: 'payments' });
    const traceparent = parts.sink.attemptStarted(journal, { ref, compensation: undefined, attempt: 1, component: 'payments', adapter: 'http' });
    journal.append({ type: 'request_sent', ref, attempt: 1, request: { method: 'post', url: 'https://user:pw@pay.example/charges/s3cr3t?token=abc', headers: {} } });
    journal.append({ type: 'phase_ended', ref, status: 'succeeded', attempts: 1, output: {} });
    journal.append({ type: 'execution_finished', status: 'succeeded', output: {} });

    const spans = parts.exporter.getFinishedSpans();
    const run = spans.find((span) => span.name === 'flowd execute orders')!;
    expect(run.spanContext().traceId).toBe(TRACE_ID);
    expect(run.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(run.attributes).toMatchObject({ 'flowd.execution.run': 2, 'flowd.execution.id': 'e-1', 'flowd.status': 'succeeded' });
    // Phases of the earlier run are not made again.
    expect(spans.map((span) => span.name).sort()).toEqual(['flowd call payments', 'flowd execute orders', 'flowd phase charge']);
    const attempt = spans.find((span) => span.name === 'flowd call payments')!;
    expect(traceparent).toBe(`00-${TRACE_ID}-${attempt.spanContext().spanId}-01`);
    expect(attempt.parentSpanContext?.spanId).toBe(spans.find((span) => span.name === 'flowd phase charge')!.spanContext().spanId);
    // No query string, no user info, secrets masked.
    expect(attempt.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.full': 'https://pay.example/charges/****', 'flowd.attempt.outcome': 'succeeded' });
  });

  it('ends every open span when the run is abandoned (its lease went elsewhere)', () => {
    const parts = setup();
    provider = parts.provider;
    const journal = Journal.from(storedEntries(), () => Date.now(), undefined, [parts.sink]);
    journal.append({ type: 'run_started', run: 2 });
    const ref = journal.append({ type: 'phase_started', phase: 'charge', kind: 'call', key: 'charge', component: 'payments' });
    parts.sink.attemptStarted(journal, { ref, compensation: undefined, attempt: 1, component: 'payments', adapter: 'http' });
    journal.append({ type: 'run_abandoned', reason: 'lease lost' });
    const names = parts.exporter.getFinishedSpans().map((span) => span.name).sort();
    expect(names).toEqual(['flowd call payments', 'flowd execute orders', 'flowd phase charge']);
    // A later entry of that journal makes no span: the run is over.
    journal.append({ type: 'phase_ended', ref, status: 'cancelled', attempts: 1 });
    expect(parts.exporter.getFinishedSpans()).toHaveLength(3);
  });

  it('does not sample under a caller that did not (parent-based), yet still gives the attempt a traceparent', () => {
    const parts = setup();
    provider = parts.provider;
    const journal = Journal.from(storedEntries('00'), () => Date.now(), undefined, [parts.sink]);
    journal.append({ type: 'run_started', run: 2 });
    const ref = journal.append({ type: 'phase_started', phase: 'charge', kind: 'call', key: 'charge' });
    expect(parts.sink.attemptStarted(journal, { ref, compensation: undefined, attempt: 1, component: 'payments', adapter: 'http' })).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    journal.append({ type: 'execution_finished', status: 'succeeded' });
    expect(parts.exporter.getFinishedSpans()).toEqual([]);
  });

  it('gives no traceparent for a journal whose run it has not seen start', () => {
    const parts = setup();
    provider = parts.provider;
    const journal = Journal.from(storedEntries(), () => Date.now(), undefined, [parts.sink]);
    expect(parts.sink.attemptStarted(journal, { ref: 2, compensation: undefined, attempt: 1, component: 'payments', adapter: 'http' })).toBeUndefined();
  });

  it('puts every run of an execution no caller traced in one trace: the execution id’s', () => {
    const exporter = new InMemorySpanExporter();
    const ids = new ExecutionIdGenerator();
    provider = new BasicTracerProvider({ idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const sink = createSpanSink(provider.getTracer('test'), (text) => text, (executionId) => ids.useNext(traceIdOfExecution(executionId)));
    const executionId = '01933b6e-7c1d-7a2b-9f3e-5d4c3b2a1908';
    const first = new Journal(() => Date.now(), undefined, [sink]);
    first.append({ type: 'execution_started', executionId, flow: 'orders', version: '1', hash: 'h', input: {} });
    first.append({ type: 'run_started', run: 1 });
    first.append({ type: 'run_abandoned', reason: 'process stopped' });
    // Another process resumes it from the stored entries.
    const second = Journal.from(first.entries, () => Date.now(), undefined, [sink]);
    second.append({ type: 'run_started', run: 2 });
    second.append({ type: 'execution_finished', status: 'succeeded' });
    const runs = exporter.getFinishedSpans();
    expect(runs.map((span) => [span.attributes['flowd.execution.run'], span.spanContext().traceId])).toEqual([
      [1, '01933b6e7c1d7a2b9f3e5d4c3b2a1908'],
      [2, '01933b6e7c1d7a2b9f3e5d4c3b2a1908'],
    ]);
    // Other root spans still get random trace ids.
    expect(ids.generateTraceId()).not.toBe('01933b6e7c1d7a2b9f3e5d4c3b2a1908');
    expect(traceIdOfExecution('not-a-uuid')).toBeUndefined();
  });
});
