/**
 * Issue 16 point 1: the flows change without a restart. A reload validates the whole set and swaps
 * it at once, or is rejected (log, API, metrics) while the last good set keeps serving; executions
 * in flight and executions queued before it finish on the definition they started with; the
 * OpenAPI document and Swagger UI follow.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeEntries } from '../../src/durable/journal-codec.js';
import { startedEntry } from '../../src/engine/run/execution.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { NO_CLEANING } from '../../src/observability/cleaner.js';

/** A flow file whose only phase answers `answer` (after `delayMs` when given). */
function flowFile(name: string, version: number, answer: string, delayMs?: number): string {
  const wait = delayMs === undefined ? '' : `  - { id: wait, component: delay, request: { ms: ${delayMs} } }\n`;
  return `name: ${name}\nversion: ${version}\nexamples: { one: { n: 1 } }\nphases:\n${wait}  - { id: answer, component: transform, request: "${answer}" }\n`;
}

let service: TestService | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await service?.close();
  cleanup?.();
  service = undefined;
  cleanup = undefined;
});

async function serve(files: Record<string, string>, env: Record<string, string> = {}): Promise<{ service: TestService; dir: string }> {
  const flows = makeFlowDir(files);
  cleanup = flows.cleanup;
  service = await startTestService({ FLOWS_DIR: flows.dir, ...env });
  return { service, dir: flows.dir };
}

async function execute(t: TestService, url: string, input: unknown = { n: 1 }): Promise<Record<string, unknown>> {
  const response = await t.app.inject({ method: 'POST', url, payload: { input } });
  return response.json<Record<string, unknown>>();
}

describe('POST /catalog/reload', () => {
  it('swaps in a changed set at once: new flows, new versions, and their operations in the OpenAPI document and Swagger UI', async () => {
    const { service: t, dir } = await serve({ 'a.yaml': flowFile('a', 1, 'one') });
    writeFileSync(path.join(dir, 'a.yaml'), flowFile('a', 2, 'two'));
    writeFileSync(path.join(dir, 'b.yaml'), flowFile('b', 1, 'bee'));

    const reload = await t.app.inject({ method: 'POST', url: '/catalog/reload' });
    expect(reload.statusCode).toBe(200);
    expect(reload.json()).toMatchObject({
      outcome: 'applied',
      trigger: 'api',
      generation: 2,
      changes: [
        { flow: 'a', version: '1', change: 'removed' },
        { flow: 'a', version: '2', change: 'added' },
        { flow: 'b', version: '1', change: 'added' },
      ],
      problems: [],
    });
    expect(await execute(t, '/flows/a/execute')).toMatchObject({ status: 'succeeded', version: '2', output: 'two' });
    expect(await execute(t, '/flows/b/execute')).toMatchObject({ status: 'succeeded', output: 'bee' });

    for (const url of ['/openapi.json', '/docs/json']) {
      const document = (await t.app.inject({ method: 'GET', url })).json<{ paths: Record<string, { post?: { summary?: string } }> }>();
      expect(document.paths['/flows/b/execute']?.post?.summary, url).toBe('Execute b (v1)');
      expect(document.paths['/flows/a/execute']?.post?.summary, url).toBe('Execute a (v2)');
    }
    expect(t.logLines()).toContainEqual(expect.objectContaining({ msg: 'flows reloaded', trigger: 'api', changes: ['a v1 removed', 'a v2 added', 'b v1 added'] }));
    expect(await t.metrics.registry.getSingleMetricAsString('flowd_flow_reloads_total')).toContain('flowd_flow_reloads_total{outcome="applied"} 1');
    expect(await t.metrics.registry.getSingleMetricAsString('flowd_flows_loaded')).toContain('flowd_flows_loaded 2');
  });

  it('answers "unchanged" and keeps the generation when nothing changed', async () => {
    const { service: t } = await serve({ 'a.yaml': flowFile('a', 1, 'one') });
    const reload = await t.app.inject({ method: 'POST', url: '/catalog/reload' });
    expect(reload.json()).toMatchObject({ outcome: 'unchanged', generation: 1, changes: [{ flow: 'a', version: '1', change: 'unchanged' }] });
  });

  it('rejects a set with a problem in any file: 422 with every problem, logged, in GET /catalog, and the last good set keeps serving', async () => {
    const { service: t, dir } = await serve({ 'a.yaml': flowFile('a', 1, 'one') });
    writeFileSync(path.join(dir, 'a.yaml'), flowFile('a', 2, 'two'));
    writeFileSync(path.join(dir, 'broken.yaml'), 'name: broken\nphases:\n  - { id: x, component: transfrom }\n');

    const reload = await t.app.inject({ method: 'POST', url: '/catalog/reload' });
    expect(reload.statusCode).toBe(422);
    expect(reload.headers['content-type']).toContain('application/problem+json');
    const problem = reload.json<{ code: string; detail: string; issues: { path: string; message: string }[] }>();
    expect(problem.code).toBe('FLOWD_ERR_FLOWS_INVALID');
    expect(problem.detail).toBe('1 problem in the flow files; the flows loaded before keep serving');
    expect(problem.issues).toEqual([{ path: `${path.join(dir, 'broken.yaml')}: phases[0].component`, message: expect.stringContaining('unknown component "transfrom" (did you mean "transform"?)') }]);

    // Still version 1: a change is all or nothing.
    expect(await execute(t, '/flows/a/execute')).toMatchObject({ status: 'succeeded', version: '1', output: 'one' });
    const catalog = (await t.app.inject({ method: 'GET', url: '/catalog' })).json();
    expect(catalog).toMatchObject({ generation: 1, watching: false, lastReload: { outcome: 'rejected', trigger: 'api', problems: [expect.stringMatching(/broken\.yaml: phases\[0\]\.component: unknown component "transfrom"/)] } });
    expect(t.logLines()).toContainEqual(expect.objectContaining({ level: 50, msg: 'flow reload rejected: the last good flows keep serving', problems: catalog.lastReload.problems }));
    expect(await t.metrics.registry.getSingleMetricAsString('flowd_flow_reloads_total')).toContain('flowd_flow_reloads_total{outcome="rejected"} 1');

    rmSync(path.join(dir, 'broken.yaml'));
    expect((await t.app.inject({ method: 'POST', url: '/catalog/reload' })).json()).toMatchObject({ outcome: 'applied', generation: 2 });
    expect(await execute(t, '/flows/a/execute')).toMatchObject({ version: '2', output: 'two' });
  });

  it('lets an execution in flight finish on the definition it started with', async () => {
    const { service: t, dir } = await serve({ 'slow.yaml': flowFile('slow', 1, 'old', 300) });
    const running = execute(t, '/flows/slow/execute');
    await expect.poll(() => t.built.engine.activeExecutions).toBe(1);
    writeFileSync(path.join(dir, 'slow.yaml'), flowFile('slow', 2, 'new'));
    expect((await t.app.inject({ method: 'POST', url: '/catalog/reload' })).json()).toMatchObject({ outcome: 'applied' });
    expect(await execute(t, '/flows/slow/execute')).toMatchObject({ version: '2', output: 'new' });
    expect(await running).toMatchObject({ status: 'succeeded', version: '1', output: 'old' });
  });

  it('runs an execution queued before the reload on the definition it is pinned to, which the reload retired', async () => {
    const { service: t, dir } = await serve({ 'job.yaml': flowFile('job', 1, 'old') });
    const v1 = t.built.catalog.get('job')!;
    writeFileSync(path.join(dir, 'job.yaml'), flowFile('job', 2, 'new'));
    expect((await t.app.inject({ method: 'POST', url: '/catalog/reload' })).json()).toMatchObject({ outcome: 'applied' });
    // Queued before the reload, pinned to version 1 (what POST …/execute with Prefer: respond-async writes).
    const executionId = t.built.engine.newExecutionId();
    const journal = t.built.engine.newJournal(v1);
    journal.append(startedEntry(v1, executionId, { n: 1 }, { tenant: 'local' }));
    const rows = encodeEntries(journal.entries, 0, NO_CLEANING);
    await t.store.create({ executionId, flow: 'job', version: v1.version, flowHash: v1.hash, tenant: 'local', options: {}, status: 'queued', leaseMs: 30_000, rows });
    t.durable.queue.wake();
    const record = async (): Promise<Record<string, unknown>> => (await t.app.inject({ method: 'GET', url: `/executions/${executionId}` })).json();
    await expect.poll(async () => (await record())['status'], { timeout: 10_000 }).toBe('succeeded');
    expect(await record()).toMatchObject({ version: '1', output: 'old' });
  });
});

describe('FLOWS_WATCH', () => {
  it('reloads when a file in the flows directory changes', async () => {
    const { service: t, dir } = await serve({ 'a.yaml': flowFile('a', 1, 'one') }, { FLOWS_WATCH: 'true' });
    writeFileSync(path.join(dir, 'a.yaml'), flowFile('a', 2, 'two'));
    await expect.poll(() => t.built.catalog.get('a')?.version, { timeout: 10_000 }).toBe('2');
    expect((await t.app.inject({ method: 'GET', url: '/catalog' })).json()).toMatchObject({ watching: true, lastReload: { outcome: 'applied', trigger: 'watch' } });
  });
});
