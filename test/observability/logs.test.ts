/**
 * Structured logs: correlation fields on every line, x-request-id handling, W3C traceparent in the
 * logs and on the wire to a local upstream, redaction of credentials and of a canary secret,
 * LOG_LEVEL and pretty output.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Middleware } from '../../src/engine/middleware.js';
import { ok, startFaultUpstream, type FaultUpstream, type UpstreamCall } from '../helpers/fault-upstream.js';
import { startService, type TestService } from './support.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CANARY = 'canary-7f3a9c1e-d00d-4b1d-secret';
const AUTH_TOKEN = 'auth-token-0c7e55aa91';
const COOKIE_VALUE = 'cookie-value-e1f2d3c4b5';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${INCOMING_SPAN}-01`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Line = Record<string, unknown>;

const isAboutRequestOrExecution = (line: Line): boolean =>
  ['req', 'res', 'executionId', 'flow', 'phase'].some((key) => line[key] !== undefined);

/** Logs each phase's output: a line that would carry the canary if masking by value failed. */
const leakyMiddleware: Middleware = {
  name: 'leaky-test',
  async phase(ctx, next) {
    const output = await next();
    ctx.logger.info({ output }, 'phase output (test)');
    return output;
  },
};

function traceFlow(upstream: FaultUpstream): Record<string, unknown> {
  return {
    name: 'traced',
    components: {
      api: { adapter: 'http', base_url: upstream.url, headers: { 'x-canary': '${secret:CANARY}' } },
    },
    phases: [
      {
        id: 'call',
        component: 'api',
        request: { method: 'GET', path: '/echo' },
        output: '{% result.body %}',
        retry_policy: { max_attempts: 3, initial_delay_ms: 1, jitter: 'none' },
      },
    ],
  };
}

const FAILING_FLOW = {
  name: 'failing',
  components: { down: { adapter: 'mock', responses: { default: { status: 400 } } } },
  phases: [{ id: 'boom', component: 'down' }],
};

describe('log lines of an execution through the API', () => {
  let upstream: FaultUpstream;
  let service: TestService;
  let response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown };
  let lines: Line[];
  let executionId: string;

  beforeAll(async () => {
    // First call fails with a body echoing the secret header (it ends up in the error details),
    // the retry succeeds and echoes it again (it ends up in the phase output).
    const echoed = (call: UpstreamCall): unknown => call.headers['x-canary'];
    upstream = (await startFaultUpstream()).script(
      'GET /echo',
      { status: 503, body: (call) => ({ error: 'busy', echoed: echoed(call) }) },
      { status: 200, body: (call) => ({ echoed: echoed(call) }) },
    );
    service = await startService([traceFlow(upstream), FAILING_FLOW], { EGRESS_ALLOW: '127.0.0.1' }, {
      env: { CANARY },
      middleware: [leakyMiddleware],
    });
    response = await service.app.inject({
      method: 'POST',
      url: '/flows/traced/execute',
      payload: { input: {} },
      headers: {
        'x-request-id': 'req-log-1',
        traceparent: TRACEPARENT,
        authorization: `Bearer ${AUTH_TOKEN}`,
        cookie: `session=${COOKIE_VALUE}`,
      },
    });
    executionId = (response.json() as { executionId: string }).executionId;
    lines = service.logs.lines;
  });

  afterAll(async () => {
    await service?.dispose();
    await upstream?.close();
  });

  it('succeeds after one retry, and the canary did reach the upstream (so the redaction checks are meaningful)', () => {
    expect(response.statusCode).toBe(200);
    expect(upstream.count('GET /echo')).toBe(2);
    expect(upstream.calls('GET /echo').every((call) => call.headers['x-canary'] === CANARY)).toBe(true);
  });

  it('echoes a well-formed x-request-id and uses it as the request id everywhere', () => {
    expect(response.headers['x-request-id']).toBe('req-log-1');
    expect((response.json() as { requestId: string }).requestId).toBe('req-log-1');
    const requestLines = lines.filter((line) => line['req'] !== undefined || line['res'] !== undefined);
    expect(requestLines.map((line) => line['msg'])).toEqual(['incoming request', 'request completed']);
    expect(requestLines.every((line) => line['reqId'] === 'req-log-1')).toBe(true);
  });

  it('puts reqId, executionId, flow and traceId on every execution line; phase and attempt where relevant', () => {
    const executionLines = lines.filter((line) => line['executionId'] !== undefined);
    expect(executionLines.length).toBeGreaterThanOrEqual(4);
    for (const line of executionLines) {
      expect(line).toMatchObject({ reqId: 'req-log-1', executionId, flow: 'traced', traceId: TRACE_ID });
    }
    const byMsg = (msg: string): Line[] => executionLines.filter((line) => line['msg'] === msg);
    expect(byMsg('execution started')).toHaveLength(1);
    expect(byMsg('retrying phase')).toEqual([expect.objectContaining({ phase: 'call', attempt: 1 })]);
    expect(byMsg('phase finished')).toEqual([
      expect.objectContaining({ phase: 'call', status: 'succeeded', attempts: 2, durationMs: expect.any(Number) }),
    ]);
    expect(byMsg('execution finished')).toEqual([expect.objectContaining({ status: 'succeeded', durationMs: expect.any(Number) })]);
    // Lines without this request id are service-level ones (e.g. the auth mode notice), never about a request or execution.
    const others = lines.filter((line) => line['reqId'] !== 'req-log-1');
    expect(others.filter(isAboutRequestOrExecution)).toEqual([]);
  });

  it('carries the W3C trace id on request lines too', () => {
    const incoming = lines.find((line) => line['msg'] === 'incoming request');
    expect(incoming?.['traceId']).toBe(TRACE_ID);
  });

  it('sends the upstream a child traceparent per call: same trace id, a new span id each time', () => {
    const sent = upstream.calls('GET /echo').map((call) => String(call.headers['traceparent']));
    const parsed = sent.map((value) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(value));
    expect(parsed.every((match) => match !== null)).toBe(true);
    expect(parsed.map((match) => match![1])).toEqual([TRACE_ID, TRACE_ID]);
    const spans = parsed.map((match) => match![2]!);
    expect(new Set([...spans, INCOMING_SPAN]).size).toBe(3);
  });

  it('never writes the Authorization token, the cookie or the canary secret to any line, masking it by value', async () => {
    const logsBody = (await service.app.inject({ method: 'GET', url: `/executions/${executionId}/logs` })).body;
    for (const text of [service.logs.text, logsBody]) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(AUTH_TOKEN);
      expect(text).not.toContain(COOKIE_VALUE);
    }
    // The lines that carried the secret are there, masked: by value, not merely absent.
    const outputLine = lines.find((line) => line['msg'] === 'phase output (test)');
    expect(JSON.stringify(outputLine)).toContain('[REDACTED]');
    expect(service.logs.raw.some((line) => line.includes('"retrying phase"'))).toBe(true);
    expect(logsBody).toContain('[REDACTED]');
    // The upstream's answer that echoed the secret is in the execution's journal, masked there too.
    const detail = (await service.app.inject({ method: 'GET', url: `/executions/${executionId}` })).body;
    expect(detail).not.toContain(CANARY);
    expect(detail).toContain('[REDACTED]');
  });

  it('redacts credential headers by key when a line logs request headers', () => {
    const before = service.logs.raw.length;
    service.logger.info(
      { req: { headers: { authorization: `Bearer ${AUTH_TOKEN}`, cookie: COOKIE_VALUE, 'x-api-key': AUTH_TOKEN } }, headers: { authorization: AUTH_TOKEN } },
      'headers probe',
    );
    const line = service.logs.raw.slice(before).join('\n');
    expect(line).toContain('headers probe');
    expect(line).not.toContain(AUTH_TOKEN);
    expect(line).not.toContain(COOKIE_VALUE);
    expect(JSON.parse(line)).toMatchObject({ req: { headers: { authorization: '[REDACTED]', cookie: '[REDACTED]' } } });
  });
});

describe('x-request-id and traceparent validation', () => {
  let upstream: FaultUpstream;
  let service: TestService;

  beforeAll(async () => {
    upstream = (await startFaultUpstream()).script('GET /echo', ok());
    service = await startService([traceFlow(upstream)], { EGRESS_ALLOW: '127.0.0.1' }, { env: { CANARY } });
  });

  afterAll(async () => {
    await service?.dispose();
    await upstream?.close();
  });

  it.each([
    ['too long', 'r'.repeat(129)],
    ['a tab (control character)', 'req\tid'],
    ['a space', 'req id'],
    ['markup', '<script>'],
    ['empty', ''],
  ])('replaces an x-request-id with %s by a generated one, in the reply and in the logs', async (_case, sent) => {
    const before = service.logs.raw.length;
    const response = await service.app.inject({ method: 'POST', url: '/flows/traced/execute', payload: { input: {} }, headers: { 'x-request-id': sent } });
    const generated = response.headers['x-request-id'];
    expect(response.statusCode).toBe(200);
    expect(generated).toMatch(UUID);
    const lines = service.logs.lines.slice(before).filter(isAboutRequestOrExecution);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.every((line) => line['reqId'] === generated)).toBe(true);
    if (sent.length > 3) expect(service.logs.raw.slice(before).join('\n')).not.toContain(JSON.stringify(sent).slice(1, -1));
  });

  it('accepts a request id of exactly 128 plain characters', async () => {
    const sent = `a-${'b'.repeat(126)}`;
    const response = await service.app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': sent } });
    expect(response.headers['x-request-id']).toBe(sent);
  });

  it.each([
    ['version ff', `ff-${TRACE_ID}-${INCOMING_SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${INCOMING_SPAN}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${INCOMING_SPAN}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(2)}-${INCOMING_SPAN}-01`],
  ])('ignores a traceparent with %s: no traceId in the logs, none sent upstream', async (_case, traceparent) => {
    const before = service.logs.raw.length;
    const sentBefore = upstream.count();
    const response = await service.app.inject({ method: 'POST', url: '/flows/traced/execute', payload: { input: {} }, headers: { traceparent } });
    expect(response.statusCode).toBe(200);
    expect(service.logs.lines.slice(before).some((line) => 'traceId' in line)).toBe(false);
    expect(upstream.calls().slice(sentBefore).map((call) => call.headers['traceparent'])).toEqual([undefined]);
  });
});

describe('LOG_LEVEL', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.dispose();
    service = undefined;
  });

  it('LOG_LEVEL=warn writes only warn and above, while the execution log keeps its info lines', async () => {
    service = await startService([FAILING_FLOW], { LOG_LEVEL: 'warn' });
    const response = await service.app.inject({ method: 'POST', url: '/flows/failing/execute', payload: { input: {} } });
    expect(response.statusCode).toBe(502);
    const lines = service.logs.lines;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => (line['level'] as number) >= 40)).toBe(true);
    expect(lines.map((line) => line['msg'])).toContain('execution failed');
    expect(lines.map((line) => line['msg'])).not.toContain('incoming request');
    const id = (response.json<{ execution: { executionId: string } }>()).execution.executionId;
    const stored = (await service.app.inject({ method: 'GET', url: `/executions/${id}/logs` })).json<Line[]>();
    expect(stored.map((line) => line['msg'])).toContain('execution started');
    // Rendered from the journal: complete, the last line included.
    expect(stored.at(-1)).toMatchObject({ msg: 'execution finished', status: 'failed' });
  });

  it('LOG_LEVEL=silent writes nothing, even for a failed execution', async () => {
    service = await startService([FAILING_FLOW], { LOG_LEVEL: 'silent' });
    expect((await service.app.inject({ method: 'POST', url: '/flows/failing/execute', payload: { input: {} } })).statusCode).toBe(502);
    expect(service.logs.raw).toEqual([]);
  });
});

describe('pretty output (child processes, real stdout pipe)', () => {
  async function printLine(env: Record<string, string>): Promise<string> {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/observability/fixtures/print-log-line.ts'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      timeout: 30_000,
    });
    return stdout;
  }

  const isJsonLines = (text: string): boolean =>
    text.trim() !== '' && text.trim().split('\n').every((line) => {
      try {
        return typeof JSON.parse(line) === 'object';
      } catch {
        return false;
      }
    });

  it('is JSON on a pipe, pretty on a terminal or with LOG_PRETTY=true, JSON again with LOG_PRETTY=false; LOG_LEVEL applies', async () => {
    const [pipe, forced, tty, ttyOff, debug] = await Promise.all([
      printLine({}),
      printLine({ LOG_PRETTY: 'true' }),
      printLine({ FAKE_TTY: '1' }),
      printLine({ FAKE_TTY: '1', LOG_PRETTY: 'false' }),
      printLine({ LOG_LEVEL: 'debug' }),
    ]);
    expect(isJsonLines(pipe)).toBe(true);
    expect(JSON.parse(pipe.trim().split('\n')[0]!)).toMatchObject({ level: 30, msg: 'info line', probe: 'info-probe', service: 'flowd' });
    for (const pretty of [forced, tty]) {
      expect(isJsonLines(pretty)).toBe(false);
      expect(pretty).toContain('INFO');
      expect(pretty).toContain('info line');
      // A reload's problems as written: the caret on its own line under the expression, not a JSON string with \n in it.
      expect(pretty).toMatch(/- flows\/a\.yaml: phases\[0\]\.request: syntax error\n +input\.a &\n +\^/);
      expect(pretty).not.toContain('\\n');
    }
    expect(isJsonLines(ttyOff)).toBe(true);
    expect(debug.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['debug line', 'info line', 'problems line']);
    expect(pipe).not.toContain('debug line');
  }, 60_000);
});
