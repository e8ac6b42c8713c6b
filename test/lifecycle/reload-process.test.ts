/**
 * Reloads of a real process: SIGHUP reloads the flows of `flowd serve` (it does not stop it), and
 * `flowd dev` watches the flows directory, starts with a broken file and picks up its fix.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const FLOW_V1 = 'name: hello\nversion: 1\nphases:\n  - { id: say, component: transform, request: "one" }\n';
const FLOW_V2 = 'name: hello\nversion: 2\nphases:\n  - { id: say, component: transform, request: "two" }\n';

let server: ServerProcess | undefined;
let cleanup: (() => void) | undefined;
afterEach(() => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  cleanup?.();
  server = undefined;
  cleanup = undefined;
});

async function hello(api: string): Promise<unknown> {
  const response = await fetch(`${api}/flows/hello/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input": {}}' });
  return ((await response.json()) as { output?: unknown }).output;
}

describe('reloading a running process', () => {
  it('SIGHUP reloads the flows of flowd serve, which keeps running', async () => {
    const flows = makeFlowDir({ 'hello.yaml': FLOW_V1 });
    cleanup = flows.cleanup;
    server = await startServerProcess(['src/cli/main.ts', 'serve', '--flows', flows.dir], {});
    expect(await hello(server.api)).toBe('one');
    writeFileSync(path.join(flows.dir, 'hello.yaml'), FLOW_V2);
    server.child.kill('SIGHUP');
    expect(await server.waitForLine('flows reloaded', 10_000)).toMatchObject({ trigger: 'signal', changes: ['hello v1 removed', 'hello v2 added'] });
    expect(await hello(server.api)).toBe('two');
    expect(server.child.exitCode).toBeNull();
  });

  it('flowd dev starts with a broken flow file, reports it, and serves the flows once the file is fixed', async () => {
    const flows = makeFlowDir({ 'hello.yaml': 'name: hello\nphases:\n  - { id: say, component: transfrom, request: "one" }\n' });
    cleanup = flows.cleanup;
    server = await startServerProcess(['src/cli/main.ts', 'dev', '--flows', flows.dir], {});
    const rejected = await server.waitForLine('flow reload rejected: the last good flows keep serving', 1_000);
    expect(rejected).toMatchObject({ trigger: 'start', problems: [expect.stringMatching(/hello\.yaml: phases\[0\]\.component: unknown component "transfrom" \(did you mean "transform"\?\)/)] });
    const catalog = (await (await fetch(`${server.api}/catalog`)).json()) as Record<string, unknown>;
    expect(catalog).toMatchObject({ watching: true, lastReload: { outcome: 'rejected' } });

    writeFileSync(path.join(flows.dir, 'hello.yaml'), FLOW_V1);
    expect(await server.waitForLine('flows reloaded', 10_000)).toMatchObject({ trigger: 'watch', changes: ['hello v1 added'] });
    expect(await hello(server.api)).toBe('one');

    rmSync(path.join(flows.dir, 'hello.yaml'));
    writeFileSync(path.join(flows.dir, 'hello-2.yaml'), FLOW_V2);
    await expect.poll(() => hello(server!.api), { timeout: 10_000 }).toBe('two');
  });
});
