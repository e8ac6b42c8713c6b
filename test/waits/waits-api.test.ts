/**
 * Waits through the API (docs/waits.md), on every store: an approval that waits for a signal,
 * signals that arrive early or twice, payload checks, timeouts, time waits, callbacks (task
 * tokens), cancelling a waiting execution (compensated), and the waiting gauge.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';
import { TERMINAL, createTestDatabase, waitFor, writeFlows, type Backend, type Json, type TestDatabase } from '../durable/helpers.js';

const DECISION_SCHEMA = { type: 'object', required: ['approved'], properties: { approved: { type: 'boolean' }, by: { type: 'string' } }, additionalProperties: false };

function flows(hooks: string): Record<string, unknown>[] {
  return [
    {
      name: 'approval',
      phases: [
        { id: 'submit', component: 'transform', request: '{% {"amount": input.amount} %}' },
        { id: 'decision', wait: { signal: 'decision', timeout: '3d', schema: DECISION_SCHEMA } },
        {
          id: 'route',
          decision: [
            { when: '{% phases.decision.approved %}', label: 'approved', phases: [{ id: 'pay', component: 'transform', request: '{% {"paid": phases.submit.amount, "by": phases.decision.by} %}' }] },
            { otherwise: [{ id: 'reject', component: 'transform', request: '{% {"rejected": true} %}' }] },
          ],
        },
      ],
      output: '{% phases.route.output %}',
    },
    {
      name: 'twice',
      phases: [
        { id: 'first', wait: { signal: 'item', timeout: '1h' } },
        { id: 'second', wait: { signal: 'item', timeout: '1s', on_timeout: { output: { missing: true } } } },
        { id: 'both', component: 'transform', request: '{% {"first": phases.first, "second": phases.second} %}' },
      ],
    },
    { name: 'expiring', phases: [{ id: 'ask', wait: { signal: 'answer', timeout: '1s' } }] },
    {
      name: 'gate',
      phases: [{ id: 'open', wait: { signal: 'open', timeout: '1h' } }, { id: 'item', wait: { signal: 'item', timeout: '1h' } }],
      output: '{% {"item": phases.item} %}',
    },
    {
      name: 'nap',
      phases: [
        { id: 'sleep', wait: { for: '1500ms' } },
        { id: 'after', component: 'transform', request: '{% {"woke": phases.sleep.waitedUntil} %}' },
      ],
    },
    { name: 'blink', phases: [{ id: 'sleep', wait: { for: 50 } }, { id: 'after', component: 'transform', request: '{% {"ok": true} %}' }] },
    {
      name: 'provider',
      transactional: true,
      components: { hooks: { adapter: 'http', base_url: hooks } },
      phases: [
        {
          id: 'reserve',
          component: 'hooks',
          request: { method: 'POST', path: '/reserve', body: '{% {"order": input.order} %}' },
          compensate: { request: { method: 'POST', path: '/release', body: '{% {"order": input.order} %}' } },
        },
        {
          id: 'charge',
          component: 'hooks',
          request: { method: 'POST', path: '/charge', body: '{% {"order": input.order, "notify": callback.url} %}' },
          callback: { timeout: '1h', schema: { type: 'object', required: ['paymentId'] } },
        },
        { id: 'done', component: 'transform', request: '{% {"payment": phases.charge.paymentId} %}' },
      ],
    },
  ];
}

/** An upstream that records what it was sent. */
class Hooks {
  readonly received: { path: string; body: Json }[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      void readJson(request).then((body) => {
        this.received.push({ path: request.url ?? '', body });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ accepted: true }));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  bodiesAt(path: string): Json[] {
    return this.received.filter((call) => call.path === path).map((call): Json => call.body);
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server === undefined ? resolve() : this.#server.close(() => resolve())));
  }
}

async function readJson(request: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Json;
}

const BACKENDS: Backend[] = ['memory', 'sqlite', 'postgres'];

describe.each(BACKENDS)('waits through the API on %s', (backend) => {
  let db: TestDatabase;
  let hooks: Hooks;
  let flowsDir: string;
  let service: Service;

  async function call(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await service.app.inject({
      method,
      url,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: response.statusCode, headers: response.headers, body: response.body === '' ? undefined : JSON.parse(response.body) };
  }

  const record = async (id: string): Promise<Json> => (await call('GET', `/executions/${id}`)).body;
  const ended = (id: string): Promise<Json> =>
    waitFor(`execution ${id} to end`, async (): Promise<Json> => {
      const found = await record(id);
      return TERMINAL.has(found.status) ? found : undefined;
    });
  const waiting = (id: string): Promise<Json> => waitFor(`execution ${id} to wait`, async (): Promise<Json> => ((await record(id)).status === 'waiting' ? record(id) : undefined));

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    hooks = await new Hooks().start();
    flowsDir = await writeFlows(flows(hooks.url));
    const env = {
      ...db.env,
      FLOWS_DIR: flowsDir,
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      EGRESS_ALLOW: '127.0.0.1',
      WORKER_POLL_MS: '50',
      WAIT_INLINE_MS: '200',
      PUBLIC_URL: 'https://flowd.example.com/',
      SIGNAL_MAX_BYTES: '2048',
      SIGNAL_MAX_PENDING: '3',
    };
    service = await createService(loadConfig(env), { env });
    service.state.ready = true;
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await hooks?.close();
    await db?.drop();
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
  });

  it('an approval waits for its decision signal: 202 waiting, checked payloads, one signal ends it, later signals get 409', async () => {
    const started = await call('POST', '/flows/approval/execute', { input: { amount: 120 } });
    expect(started.status).toBe(202);
    const id = started.body.executionId as string;
    expect(started.headers['location']).toBe(`/executions/${id}`);
    expect(started.body).toMatchObject({ status: 'waiting', waiting: { phase: 'decision', for: 'signal', signal: 'decision' } });
    const until = Date.parse(started.body.waiting.until as string);
    expect(until).toBeGreaterThan(Date.now() + 3 * 86_400_000 - 60_000);

    const waited = await record(id);
    expect(waited).toMatchObject({ status: 'waiting', waiting: { phase: 'decision', for: 'signal', signal: 'decision' } });
    expect(waited.phases.map((phase: Json): [string, string] => [String(phase.id), String(phase.status)])).toEqual([['submit', 'succeeded'], ['decision', 'waiting']]);

    const unknown = await call('POST', `/executions/${id}/signals/approve`, { payload: { approved: true } });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: 'FLOWD_ERR_SIGNAL_INVALID' });
    expect(unknown.body.detail).toContain('it takes: decision');
    const invalid = await call('POST', `/executions/${id}/signals/decision`, { payload: { approved: 'yes' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ code: 'FLOWD_ERR_SIGNAL_INVALID', issues: [expect.objectContaining({ path: 'payload.approved' })] });
    expect((await record(id)).status).toBe('waiting');

    const sent = await call('POST', `/executions/${id}/signals/decision`, { payload: { approved: true, by: 'maria' } });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ executionId: id, signal: 'decision', delivery: 'delivered' });
    const done = await ended(id);
    expect(done).toMatchObject({ status: 'succeeded', output: { paid: 120, by: 'maria' } });
    expect(done.waiting).toBeUndefined();
    expect(done.phases.map((phase: Json): [string, string] => [String(phase.id), String(phase.status)])).toEqual([['submit', 'succeeded'], ['decision', 'succeeded'], ['route', 'succeeded'], ['pay', 'succeeded']]);

    const late = await call('POST', `/executions/${id}/signals/decision`, { payload: { approved: false } });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'FLOWD_ERR_EXECUTION_ENDED' });
    expect((await call('POST', '/executions/0190aaaa-0000-7000-8000-000000000000/signals/decision', { payload: {} })).status).toBe(404);
  });

  it('a signal sent before the wait is kept and taken; duplicates with one Idempotency-Key count once', async () => {
    const started = await call('POST', '/flows/twice/execute', { input: {} }, { prefer: 'respond-async' });
    const id = started.body.executionId as string;
    // Sent while the execution is still queued: kept for the wait.
    const first = await call('POST', `/executions/${id}/signals/item`, { payload: 'a' }, { 'idempotency-key': 'item-1' });
    const again = await call('POST', `/executions/${id}/signals/item`, { payload: 'a, again' }, { 'idempotency-key': 'item-1' });
    expect(first.body.delivery).toBe('delivered');
    expect(again.status).toBe(202);
    expect(again.body.delivery).toBe('duplicate');
    // The duplicate was not kept: the second wait gets nothing and times out into its fallback output.
    const done = await ended(id);
    expect(done).toMatchObject({ status: 'succeeded', output: { first: 'a', second: { missing: true } } });
    // A client retrying after the execution ended (its first answer lost) hears that it was counted; a new signal is too late.
    const retried = await call('POST', `/executions/${id}/signals/item`, { payload: 'a' }, { 'idempotency-key': 'item-1' });
    expect([retried.status, retried.body.delivery]).toEqual([202, 'duplicate']);
    const late = await call('POST', `/executions/${id}/signals/item`, { payload: 'b' }, { 'idempotency-key': 'item-2' });
    expect([late.status, late.body.code]).toEqual([409, 'FLOWD_ERR_EXECUTION_ENDED']);
  });

  it('bounds what an execution keeps: payload bytes (413) and signals not taken yet (422 with Retry-After)', async () => {
    const started = await call('POST', '/flows/approval/execute', { input: { amount: 5 } });
    const id = started.body.executionId as string;
    const big = await call('POST', `/executions/${id}/signals/decision`, { payload: { approved: true, by: 'x'.repeat(3000) } });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('FLOWD_ERR_PAYLOAD_TOO_LARGE');
    // The execution waits for "open": signals "item" stay untaken; SIGNAL_MAX_PENDING=3.
    const gated = await call('POST', '/flows/gate/execute', { input: {} });
    const gate = gated.body.executionId as string;
    const answers = [];
    for (let n = 0; n < 3; n += 1) answers.push((await call('POST', `/executions/${gate}/signals/item`, { payload: n })).status);
    expect(answers).toEqual([202, 202, 202]);
    const full = await call('POST', `/executions/${gate}/signals/item`, { payload: 3 });
    expect(full.status).toBe(422);
    expect(full.body.code).toBe('FLOWD_ERR_LIMIT_EXCEEDED');
    expect(full.headers['retry-after']).toBe('1');
    // Once the waits took signals, there is room again.
    expect((await call('POST', `/executions/${gate}/signals/open`, { payload: true })).status).toBe(202);
    expect(await ended(gate)).toMatchObject({ status: 'succeeded', output: { item: 0 } });
  });

  it('a signal wait that times out fails with FLOWD_ERR_SIGNAL_TIMEOUT', async () => {
    const started = await call('POST', '/flows/expiring/execute', { input: {} });
    expect(started.body.status).toBe('waiting');
    const done = await ended(started.body.executionId as string);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'FLOWD_ERR_SIGNAL_TIMEOUT', phase: 'ask' } });
  });

  it('a time wait longer than WAIT_INLINE_MS suspends and resumes when due; a short one sleeps inside the request', async () => {
    const started = await call('POST', '/flows/nap/execute', { input: {} });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'waiting', waiting: { phase: 'sleep', for: 'time' } });
    const done = await ended(started.body.executionId as string);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.output.woke as string)).toBe(Date.parse(started.body.waiting.until as string));
    const short = await call('POST', '/flows/blink/execute', { input: {} });
    expect(short.status).toBe(200);
    expect(short.body).toMatchObject({ status: 'succeeded', output: { ok: true } });
  });

  it('a callback token travels in the request, works once, and its payload becomes the output', async () => {
    const started = await call('POST', '/flows/provider/execute', { input: { order: 'o-1' } });
    expect(started.body).toMatchObject({ status: 'waiting', waiting: { phase: 'charge', for: 'callback' } });
    const id = started.body.executionId as string;
    const [charge] = hooks.bodiesAt('/charge').filter((body) => body.order === 'o-1');
    const url = new URL(charge.notify as string);
    expect(url.origin).toBe('https://flowd.example.com');
    const path = url.pathname;
    expect(path).toMatch(/^\/callbacks\/[A-Za-z0-9_-]{43}$/);
    const invalid = await call('POST', path, { status: 'succeeded', output: { nope: 1 } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.code).toBe('FLOWD_ERR_SIGNAL_INVALID');
    const answered = await call('POST', path, { status: 'succeeded', output: { paymentId: 'p-9' } });
    expect(answered.status).toBe(202);
    expect(answered.body).toEqual({ executionId: id, status: 'delivered' });
    expect((await call('POST', path, { status: 'succeeded', output: { paymentId: 'p-10' } })).status).toBe(410);
    // Used is what the caller needs to hear, whatever the payload: no other payload would help.
    const usedAndInvalid = await call('POST', path, { status: 'succeeded', output: { nope: 1 } });
    expect(usedAndInvalid.status).toBe(410);
    expect(usedAndInvalid.body.code).toBe('FLOWD_ERR_CALLBACK_GONE');
    expect((await call('POST', '/callbacks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { status: 'succeeded' })).status).toBe(404);
    const done = await ended(id);
    expect(done).toMatchObject({ status: 'succeeded', output: { payment: 'p-9' } });
    // The token is a credential: readers of the execution see the request it travelled in, masked.
    const charged = (done.phases as { id: string; attempts: number; calls?: { request?: { body?: { notify?: string } } }[] }[]).find((phase) => phase.id === 'charge');
    // The call made before the wait is still the phase's one attempt once the callback resumed it.
    expect(charged?.attempts).toBe(1);
    expect(charged?.calls?.[0]?.request?.body?.notify).toBe('https://flowd.example.com/callbacks/[REDACTED]');
    expect(JSON.stringify(done)).not.toContain(path.slice('/callbacks/'.length));
    expect(JSON.stringify((await call('GET', `/executions/${id}/logs`)).body)).not.toContain(path.slice('/callbacks/'.length));
    expect(hooks.bodiesAt('/charge').filter((body) => body.order === 'o-1')).toHaveLength(1);
  });

  it('a failed callback fails the phase and the transactional flow compensates what it did', async () => {
    const started = await call('POST', '/flows/provider/execute', { input: { order: 'o-2' } });
    const [charge] = hooks.bodiesAt('/charge').filter((body) => body.order === 'o-2');
    const path = new URL(charge.notify as string).pathname;
    expect((await call('POST', path, { status: 'failed', error: { message: 'card declined', code: 'DECLINED' } })).status).toBe(202);
    const done = await ended(started.body.executionId as string);
    expect(done).toMatchObject({ status: 'compensated', error: { code: 'FLOWD_ERR_CALLBACK_FAILED', phase: 'charge' } });
    expect(done.error.message).toContain('card declined');
    expect(hooks.bodiesAt('/release')).toContainEqual({ order: 'o-2' });
  });

  it('cancelling a waiting execution ends it cancelled and compensates it', async () => {
    const started = await call('POST', '/flows/provider/execute', { input: { order: 'o-3' } });
    const id = started.body.executionId as string;
    await waiting(id);
    const cancelled = await call('POST', `/executions/${id}/cancel`);
    expect(cancelled.status).toBe(202);
    const done = await ended(id);
    expect(done.status).toBe('compensated');
    expect(done.error.code).toBe('FLOWD_ERR_CANCELLED');
    expect(hooks.bodiesAt('/release')).toContainEqual({ order: 'o-3' });
    // Its token was never used and has not expired, but the execution has ended: 409, whatever the payload.
    const [charge] = hooks.bodiesAt('/charge').filter((body) => body.order === 'o-3');
    const late = await call('POST', new URL(charge.notify as string).pathname, { status: 'succeeded', output: { nope: 1 } });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('FLOWD_ERR_EXECUTION_ENDED');
  });

  it('counts waiting executions in flowd_executions_waiting{flow,for}', async () => {
    const started = await call('POST', '/flows/approval/execute', { input: { amount: 1 } });
    expect(started.body.status).toBe('waiting');
    const scrape = await service.metricsApp.inject({ method: 'GET', url: '/metrics' });
    const line = scrape.body.split('\n').find((text) => text.startsWith('flowd_executions_waiting{flow="approval",for="signal"}'));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(1);
  });
});
