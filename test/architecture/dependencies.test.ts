/**
 * The structure rules of .dependency-cruiser.cjs hold for src/ (no cycles, the engine knows no web
 * framework, metrics or HTTP client, flows know no HTTP, stores know no engine internals …), and
 * they do catch violations: a fixture with planted ones is refused.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const config = require('../../.dependency-cruiser.cjs') as IConfiguration;

async function violations(baseDir: string): Promise<string[]> {
  const result = await cruise(['src'], {
    ...config.options,
    ruleSet: { forbidden: config.forbidden ?? [] },
    validate: true,
    baseDir,
    outputType: 'json',
  });
  const output = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return output.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`);
}

describe('module structure', () => {
  it('src/ breaks no rule', async () => {
    expect(await violations(process.cwd())).toEqual([]);
  }, 60_000);

  it('the rules catch a planted violation of each kind', async () => {
    const found = await violations(path.resolve('test/architecture/fixture'));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^engine-knows-no-web-metrics-or-http-client: src\/engine\/uses-fastify\.ts → .*fastify/),
        'stores-know-no-engine-internals: src/store/reads-engine.ts → src/engine/journal.ts',
      ]),
    );
  }, 60_000);
});
