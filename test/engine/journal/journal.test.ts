/**
 * The execution journal: what an execution appends, what each capture policy keeps, the bounds on
 * what one execution may hold, and the views (record, detail, log, checkpoints) built from it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ComponentAdapter } from '../../../src/adapters/types.js';
import { checkpointsOf } from '../../../src/engine/journal/checkpoints.js';
import { logView } from '../../../src/engine/journal/log-view.js';
import { recordView } from '../../../src/engine/journal/record-view.js';
import { createEngine, type CreateEngineOptions } from '../../../src/library.js';
import { NO_CLEANING } from '../../../src/observability/cleaner.js';

const SHOP = {
  name: 'shop',
  transactional: true,
  components: {
    stock: { adapter: 'mock', responses: { default: { status: 201, body: { reservation: 'r-1' } } } },
    pay: { adapter: 'mock', sequence: [{ status: 503, body: { reason: 'busy' } }, { status: 402, body: { reason: 'declined' } }] },
  },
  defaults: { retry_policy: { initial_delay_ms: 1, max_delay_ms: 1, jitter: 'none' } },
  phases: [
    { id: 'total', component: 'transform', request: '{% input.qty * 10 %}' },
    {
      id: 'reserve',
      component: 'stock',
      request: { method: 'POST', path: '/reservations', body: { qty: '{% input.qty %}' } },
      compensate: { request: { method: 'DELETE', path: "{% '/reservations/' & output.body.reservation %}" } },
    },
    { id: 'charge', component: 'pay', request: { method: 'POST', path: '/charges', body: { amount: '{% phases.total %}' } } },
  ],
};

async function run(options: Partial<CreateEngineOptions> = {}, flow: Record<string, unknown> = SHOP, input: unknown = { qty: 2 }) {
  const engine = await createEngine({ flows: [flow], ...options });
  const started = engine.start(flow['name'] as string, input);
  await started.done;
  await engine.close();
  return started.journal;
}

describe('what an execution appends', () => {
  it('one entry per fact, in order: start, run, each phase, each attempt, compensation, failure, end', async () => {
    const journal = await run();
    expect(journal.entries.map((entry) => entry.type)).toEqual([
      'execution_started',
      'run_started',
      'phase_started', // total (pure: no request or response captured, the output says it all)
      'phase_ended',
      'phase_started', // reserve
      'request_sent',
      'response_received',
      'phase_ended',
      'phase_started', // charge: 503 (retried), then 402 (not retried)
      'request_sent',
      'attempt_failed',
      'request_sent',
      'attempt_failed',
      'phase_ended',
      'execution_failed',
      'compensation_started',
      'request_sent',
      'response_received',
      'compensation_ended',
      'execution_finished',
    ]);
    expect(journal.entries.at(-1)).toMatchObject({ type: 'execution_finished', status: 'compensated' });
    const failures = journal.entries.filter((entry) => entry.type === 'attempt_failed');
    expect(failures[0]).toMatchObject({ attempt: 1, retryInMs: 1, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', status: 503 } });
    expect(failures[1]).toMatchObject({ attempt: 2, error: { status: 402 } });
    expect(failures[1]).not.toHaveProperty('retryInMs');
  });

  it('the record is a view of it, and the detail view shows every call with its request and response', async () => {
    const journal = await run();
    const record = recordView(journal.entries, { detail: true });
    expect(record).toMatchObject({ flow: 'shop', status: 'compensated', errorHandled: true, error: { code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'charge' } });
    const charge = record.phases.find((phase) => phase.id === 'charge')!;
    expect(charge).toMatchObject({ status: 'failed', attempts: 2 });
    expect(charge.calls).toHaveLength(2);
    expect(charge.calls?.[0]).toMatchObject({ attempt: 1, request: { method: 'POST', path: '/charges', body: { amount: 20 } }, retryInMs: 1 });
    expect(charge.calls?.[1]?.error).toMatchObject({ status: 402 });
    const reserve = record.phases.find((phase) => phase.id === 'reserve')!;
    expect(reserve).toMatchObject({ status: 'compensated', output: { status: 201, body: { reservation: 'r-1' } } });
    expect(reserve.calls?.[0]?.response).toMatchObject({ status: 201 });
    expect(record.compensations?.[0]).toMatchObject({ phase: 'reserve', status: 'succeeded', attempts: 1 });
    expect(record.compensations?.[0]?.calls?.[0]?.request).toEqual({ method: 'DELETE', path: '/reservations/r-1' });
    // The summary view (what execute answers) carries no captures.
    expect(recordView(journal.entries).phases.some((phase) => phase.calls !== undefined || phase.output !== undefined)).toBe(false);
  });

  it('the log view says what happened, compensations included', async () => {
    const journal = await run();
    const lines = logView(journal.entries).map((line) => `${line.level} ${line.msg}${typeof line['phase'] === 'string' ? ` ${line['phase']}` : ''}`);
    expect(lines).toEqual([
      'info execution started',
      'info phase finished total',
      'info phase finished reserve',
      'info retrying phase charge',
      'info phase finished charge',
      'warn execution failed charge',
      'info compensation succeeded reserve',
      'warn execution finished charge',
    ]);
  });
});

describe('capture policies', () => {
  const types = (entries: readonly { type: string }[]): string[] => entries.map((entry) => entry.type).filter((type) => type === 'request_sent' || type === 'response_received');

  it('errors: only the requests of attempts that failed', async () => {
    const journal = await run({ capture: { policy: 'errors' } });
    expect(types(journal.entries)).toEqual(['request_sent', 'request_sent']);
    expect(journal.entries.filter((entry) => entry.type === 'request_sent').every((entry) => 'ref' in entry && journal.entries[entry.ref]?.type === 'phase_started')).toBe(true);
  });

  it('none: no requests or responses, the facts (attempts, errors) still', async () => {
    const journal = await run({ capture: { policy: 'none' } });
    expect(types(journal.entries)).toEqual([]);
    expect(journal.entries.filter((entry) => entry.type === 'attempt_failed')).toHaveLength(2);
    expect(recordView(journal.entries).phases.find((phase) => phase.id === 'charge')?.attempts).toBe(2);
  });

  it('a flow’s own `capture` key overrides the service default', async () => {
    const journal = await run({ capture: { policy: 'all' } }, { ...SHOP, capture: 'none' });
    expect(types(journal.entries)).toEqual([]);
  });
});

describe('bounds', () => {
  it('captures stop at the byte budget, once marked, and the execution goes on', async () => {
    const journal = await run({ capture: { maxBytes: 150 } });
    const truncated = journal.entries.filter((entry) => entry.type === 'captures_truncated');
    expect(truncated).toHaveLength(1);
    expect(truncated[0]).toMatchObject({ reason: expect.stringContaining('CAPTURE_MAX_BYTES') });
    expect(journal.entries.at(-1)).toMatchObject({ type: 'execution_finished', status: 'compensated' });
    expect(recordView(journal.entries, { detail: true }).capturesTruncated).toBe(true);
  });

  it('log lines written by adapters are kept up to the limit, then marked once', async () => {
    const chatty: ComponentAdapter<Record<string, never>> = {
      kind: 'chatty',
      configSchema: z.strictObject({}),
      create: () => ({
        execute: async (_request, ctx) => {
          for (let i = 0; i < 10; i++) ctx.logger.info({ i }, 'working');
          return 'done';
        },
      }),
    };
    const journal = await run(
      { adapters: [chatty as ComponentAdapter<never>], capture: { maxLogLines: 4 } },
      { name: 'chat', components: { c: { adapter: 'chatty' } }, phases: [{ id: 'p', component: 'c' }] },
      {},
    );
    const logs = journal.entries.filter((entry) => entry.type === 'log');
    expect(logs).toHaveLength(4);
    expect(logs[0]).toMatchObject({ level: 'info', msg: 'working', fields: { phase: 'p', attempt: 1, i: 0 } });
    expect(journal.entries.filter((entry) => entry.type === 'captures_truncated')).toEqual([expect.objectContaining({ reason: 'more than 4 log lines' })]);
  });

  it('detail views cap each value they show, with a preview', async () => {
    const big = { name: 'big', phases: [{ id: 'p', component: 'transform', request: "{% $pad('', 20000, 'x') %}" }] };
    const journal = await run({}, big, {});
    const phase = recordView(journal.entries, { detail: true, maxValueBytes: 100 }).phases[0]!;
    expect(phase.output).toMatchObject({ truncated: true, bytes: 20000 });
    expect((phase.output as { preview: string }).preview).toHaveLength(100);
  });
});

describe('views clean what they show', () => {
  it('clean is applied to the input, captures and errors; the caller may see its own output raw', async () => {
    const journal = await run();
    const clean = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll('/charges', '/[MASKED]')) as unknown;
    const record = recordView(journal.entries, { detail: true, clean });
    const charge = record.phases.find((phase) => phase.id === 'charge')!;
    expect(charge.calls?.[0]?.request).toMatchObject({ path: '/[MASKED]' });
  });
});

describe('checkpoints', () => {
  it('are the outputs of succeeded phases, without decisions and without phases a compensation undid', async () => {
    const journal = await run();
    const { checkpoints, compensationRequests } = checkpointsOf(journal.entries);
    expect([...checkpoints.keys()]).toEqual(['total']);
    expect(checkpoints.get('total')).toBe(20);
    expect(compensationRequests.size).toBe(0);
  });
});

describe('what is stored of a journal', () => {
  it('a value nested too deeply to serialise is stored as a marker, the rest of the entry as it is', async () => {
    const { encodeEntry, decodeRows } = await import('../../../src/durable/journal-codec.js');
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const row = encodeEntry({ type: 'response_received', ref: 2, attempt: 1, response: deep, at: 1, t: 1 }, 3, NO_CLEANING);
    const [entry] = decodeRows([row]);
    expect(entry).toMatchObject({ type: 'response_received', ref: 2, attempt: 1, response: { truncated: true, reason: expect.stringContaining('nested deeper than') } });
  });
});
