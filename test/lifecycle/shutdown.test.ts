/**
 * Graceful shutdown of the real server process (`node --import tsx src/server.ts`, nothing to
 * build first): SIGTERM/SIGINT while a slow execution is in flight.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { writeFlows } from '../observability/support.js';

const startServer = (env: Record<string, string>): Promise<ServerProcess> => startServerProcess(['src/server.ts'], env);

const post = (api: string, flow: string): Promise<Response> =>
  fetch(`${api}/flows/${flow}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: {} }) });

describe('graceful shutdown of the server process', () => {
  let server: ServerProcess | undefined;
  let flowsDir: string | undefined;
  afterEach(async () => {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    if (flowsDir !== undefined) await rm(flowsDir, { recursive: true, force: true });
    server = undefined;
    flowsDir = undefined;
  });

  it('SIGTERM mid-execution: the in-flight request completes with 200, new ones get 503 with Retry-After, exit 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const SHUTDOWN_TIMEOUT_MS = 5_000;
    flowsDir = await writeFlows([
      { name: 'slow', phases: [{ id: 'wait', component: 'delay', request: { ms: 1_000 } }] },
      { name: 'fast', phases: [{ id: 'one', component: 'transform', request: '{% 1 %}' }] },
    ]);
    server = await startServer({ FLOWS_DIR: flowsDir, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const { api, metrics } = server;
    expect((await fetch(`${api}/health/ready`)).status).toBe(200);
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);

    const inFlight = post(api, 'slow');
    await server.waitForLine('execution started', 10_000);
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const shuttingDown = await server.waitForLine(/^shutting down/, 5_000);
    expect(shuttingDown).toMatchObject({ signal: 'SIGTERM', inFlight: 1 });

    // During the drain: new executions are refused, readiness fails, liveness answers.
    const refused = await post(api, 'fast');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'FLOWD_ERR_SHUTTING_DOWN' });
    const ready = await fetch(`${api}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'FLOWD_ERR_SHUTTING_DOWN' });
    expect((await fetch(`${api}/health/live`)).status).toBe(200);

    // The in-flight execution finishes normally.
    const completed = await inFlight;
    expect(completed.status).toBe(200);
    expect(await completed.json()).toMatchObject({ flow: 'slow', status: 'succeeded', phases: [{ id: 'wait', status: 'succeeded' }] });

    const exit = await server.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(server.lines.map((line) => line['msg'])).toContain('flowd stopped');
    expect(server.lines.some((line) => String(line['msg']).includes('cancelling'))).toBe(false);
    expect(server.stderr()).not.toMatch(/error/i);
  }, 60_000);

  it('SIGINT with an execution outlasting SHUTDOWN_TIMEOUT_MS: it is cancelled, its request still gets an answer, exit 0 before the hard limit', async () => {
    const SHUTDOWN_TIMEOUT_MS = 300;
    flowsDir = await writeFlows([{ name: 'stuck', phases: [{ id: 'wait', component: 'delay', request: { ms: 20_000 } }] }]);
    server = await startServer({ FLOWS_DIR: flowsDir, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });

    const inFlight = post(server.api, 'stuck');
    await server.waitForLine('execution started', 10_000);
    const signalledAt = Date.now();
    server.child.kill('SIGINT');

    const answered = await inFlight;
    expect(answered.status).toBe(409);
    expect(await answered.json()).toMatchObject({ code: 'FLOWD_ERR_CANCELLED', execution: { status: 'cancelled', flow: 'stuck' } });
    const exit = await server.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // close-with-grace's hard limit is SHUTDOWN_TIMEOUT_MS + 1000 ms and would exit 1.
    expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1_000);
    expect(server.lines.find((line) => String(line['msg']).includes('cancelling'))).toMatchObject({ cancelled: 1 });
    expect(server.lines.map((line) => line['msg'])).toContain('flowd stopped');
  }, 60_000);
});
