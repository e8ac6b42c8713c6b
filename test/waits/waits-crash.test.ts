/**
 * Waits across kill -9 (issue 15): a flow waiting for an approval signal survives the server being
 * SIGKILLed while it waits and completes when the signal arrives after the restart (its completed
 * phase not run again); a signal sent while no server runs... is answered by the next one; a time
 * wait and a signal wait's timeout fire on time after a restart.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingUpstream, ServerProcess, TERMINAL, createTestDatabase, killAllServers, waitFor, workerEnv, writeFlows, type Backend, type Json, type TestDatabase } from '../durable/helpers.js';

function flows(upstream: string): Record<string, unknown>[] {
  return [
    {
      name: 'approve-crash',
      components: { upstream: { adapter: 'http', base_url: upstream } },
      phases: [
        { id: 'submit', component: 'upstream', request: { method: 'POST', path: '/submit', body: '{% input %}' }, output: '{% result.body %}' },
        { id: 'decision', wait: { signal: 'decision', timeout: '1d', schema: { type: 'object', required: ['approved'] } } },
        { id: 'book', component: 'upstream', request: { method: 'POST', path: '/book', body: '{% phases.decision %}' }, output: '{% result.body %}' },
      ],
      output: '{% {"approved": phases.decision.approved, "submitted": phases.submit.path, "booked": phases.book.path} %}',
    },
    {
      name: 'timer-crash',
      phases: [
        { id: 'sleep', wait: { for: '4s' } },
        { id: 'ask', wait: { signal: 'never', timeout: '2s', on_timeout: { output: { timedOut: true } } } },
      ],
      output: '{% {"slept": phases.sleep.waitedUntil, "ask": phases.ask} %}',
    },
  ];
}

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('waits across kill -9 on %s', (backend) => {
  let db: TestDatabase;
  let upstream: CountingUpstream;
  let flowsDir: string;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    upstream = await new CountingUpstream().start();
    flowsDir = await writeFlows(flows(upstream.url));
  });

  afterAll(async () => {
    await killAllServers();
    await upstream?.close();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  const ended = (server: ServerProcess, id: string): Promise<Json> =>
    waitFor(`execution ${id} to end`, async (): Promise<Json> => {
      const { body } = await server.request('GET', `/executions/${id}`);
      return TERMINAL.has(body.status) ? body : undefined;
    }, 30_000);

  it('an approval waiting for its signal survives kill -9 and completes when the signal arrives after the restart', async () => {
    const env = workerEnv(db, flowsDir, 4);
    const first = await ServerProcess.start(env);
    const started = await first.request('POST', '/flows/approve-crash/execute', { input: { claim: 'c-1' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'waiting', waiting: { phase: 'decision', signal: 'decision' } });
    const id = started.body.executionId as string;
    await first.kill();

    const second = await ServerProcess.start(env);
    expect((await second.request('GET', `/executions/${id}`)).body).toMatchObject({ status: 'waiting', waiting: { signal: 'decision' } });
    const sent = await second.request('POST', `/executions/${id}/signals/decision`, { payload: { approved: true } });
    expect(sent.status).toBe(202);
    const done = await ended(second, id);
    expect(done).toMatchObject({ status: 'succeeded', output: { approved: true, submitted: '/submit', booked: '/book' } });
    // The phase completed before the crash was restored, not called again.
    expect(upstream.calls('/submit')).toBe(1);
    expect(upstream.calls('/book')).toBe(1);
    await second.kill();
  }, 120_000);

  it('a signal sent before the execution waits is not lost across a crash', async () => {
    const env = workerEnv(db, flowsDir, 4);
    const server = await ServerProcess.start(env);
    upstream.hold('/submit');
    const started = await server.request('POST', '/flows/approve-crash/execute', { input: { claim: 'c-2' } }, { prefer: 'respond-async' });
    const id = started.body.executionId as string;
    await waitFor('the first phase to be in flight', () => upstream.waiting('/submit') === 1);
    // The execution is running its first phase: the signal is kept for the wait.
    expect((await server.request('POST', `/executions/${id}/signals/decision`, { payload: { approved: false } })).body.delivery).toBe('delivered');
    await server.kill();
    upstream.release('/submit');
    const next = await ServerProcess.start(env);
    const done = await ended(next, id);
    expect(done).toMatchObject({ status: 'succeeded', output: { approved: false } });
    await next.kill();
  }, 120_000);

  it('a time wait and a signal timeout fire on time after a restart', async () => {
    // Waits of seconds suspend instead of sleeping in the request.
    const env = { ...workerEnv(db, flowsDir, 4), WAIT_INLINE_MS: '200' };
    const first = await ServerProcess.start(env);
    const started = await first.request('POST', '/flows/timer-crash/execute', { input: {} });
    expect(started.body).toMatchObject({ status: 'waiting', waiting: { phase: 'sleep', for: 'time' } });
    const id = started.body.executionId as string;
    const until = Date.parse(started.body.waiting.until as string);
    await first.kill();
    const second = await ServerProcess.start(env);
    const done = await ended(second, id);
    expect(done).toMatchObject({ status: 'succeeded', output: { ask: { timedOut: true } } });
    expect(Date.parse(done.output.slept as string)).toBe(until);
    // It ended after the time wait and the 2 s timeout had both passed.
    expect(Date.parse(done.finishedAt as string)).toBeGreaterThanOrEqual(until + 2000);
    await second.kill();
  }, 120_000);
});
