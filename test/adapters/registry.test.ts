import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AdapterRegistry } from '../../src/adapters/registry.js';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { transformAdapter } from '../../src/adapters/transform/transform-adapter.js';
import { makeFlowDir } from '../helpers/flow-dir.js';
import { startTestService } from '../helpers/service.js';

const echo: ComponentAdapter<Record<string, never>> = {
  kind: 'echo',
  configSchema: z.strictObject({}),
  create: () => ({ execute: async (request) => ({ echoed: request }) }),
};

describe('adapter registry', () => {
  it('rejects a second adapter of the same kind', () => {
    const registry = new AdapterRegistry([transformAdapter as ComponentAdapter<never>]);
    expect(() => registry.register(transformAdapter)).toThrow(/already registered/);
    expect(registry.kinds()).toEqual(['transform']);
  });

  it('rejects a kind that is not a plain name', () => {
    expect(() => new AdapterRegistry().register({ ...echo, kind: '../evil' })).toThrow(/must match/);
  });
});

describe('custom adapters loaded from ADAPTER_MODULES', () => {
  // Inside the project so the module resolves 'zod' from its node_modules.
  const modulePath = path.join(process.cwd(), 'test', 'adapters', `.tmp-echo-${process.pid}.mjs`);
  const flows = makeFlowDir({
    'uses-echo.yaml': 'name: uses-echo\ncomponents:\n  e: { adapter: echo }\nphases:\n  - id: call\n    component: e\n    request: "{% input.word %}"\n',
  });
  afterAll(() => {
    rmSync(modulePath, { force: true });
    flows.cleanup();
  });

  it('registers the module default export and runs flows that use it', async () => {
    writeFileSync(
      modulePath,
      "import { z } from 'zod';\nexport default { kind: 'echo', configSchema: z.strictObject({}), create: () => ({ execute: async (request) => ({ echoed: request }) }) };\n",
    );
    const service = await startTestService({ FLOWS_DIR: flows.dir, ADAPTER_MODULES: modulePath });
    try {
      const response = await service.app.inject({
        method: 'POST',
        url: '/flows/uses-echo/execute',
        headers: { 'content-type': 'application/json' },
        payload: { input: { word: 'hi' } },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().output).toEqual({ echoed: 'hi' });
    } finally {
      await service.close();
    }
  });
});
