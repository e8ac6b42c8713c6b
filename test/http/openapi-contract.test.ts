import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_FILE, OPENAPI_FILE, clientTypesText } from '../helpers/openapi-client-types.js';
import { startTestService, type TestService } from '../helpers/service.js';

/** Validates one document against the OpenAPI 3.1 schema, `$ref`s resolved; returns the errors. */
async function openApiErrors(document: unknown): Promise<unknown[]> {
  const result = await new Validator().validate(document as Record<string, unknown>);
  return result.valid ? [] : [result.errors].flat();
}

describe('the OpenAPI document is a valid, compact contract', () => {
  let service: TestService;
  let committed: Record<string, unknown>;
  beforeAll(async () => {
    service = await startTestService({ LOG_LEVEL: 'silent' });
    committed = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as Record<string, unknown>;
  });
  afterAll(() => service.close());

  it('openapi/openapi.json validates as OpenAPI 3.1 with every $ref resolved', async () => {
    expect(await openApiErrors(committed)).toEqual([]);
  });

  it('GET /openapi.json and GET /docs/json serve the same valid document', async () => {
    const served = (await service.app.inject({ method: 'GET', url: '/openapi.json' })).json<Record<string, unknown>>();
    const swaggerUi = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json<Record<string, unknown>>();
    expect(swaggerUi).toEqual(served);
    expect(served).toEqual(committed);
    expect(await openApiErrors(served)).toEqual([]);
  });

  it('references the shared record and problem schemas instead of repeating them', async () => {
    const text = JSON.stringify(committed);
    const schemas = (committed as { components: { schemas: Record<string, unknown> } }).components.schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['ExecutionRecord', 'PhaseRecord', 'ErrorSummary', 'Problem', 'ErrorCode']));
    // One definition of the record: its properties appear once, every response points at it.
    expect(text.match(/"fallbackExecuted":\{/g)).toHaveLength(1);
    expect(text.match(/"\$ref":"#\/components\/schemas\/ExecutionRecord"/g)?.length).toBeGreaterThan(5);
    expect(/schema0|seed/i.exec(text)?.[0]).toBeUndefined();
    expect(text.length).toBeLessThan(100_000);
  });

  it('documents problems as application/problem+json', () => {
    const responses = (committed as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> }).paths['/executions/{id}']!['get']!.responses;
    expect(Object.keys(responses['404']!.content ?? {})).toEqual(['application/problem+json']);
  });

  it('gives counts and durations realistic bounds and examples (no -9007199254740991 samples)', () => {
    const schemas = (committed as { components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> } }).components.schemas;
    expect(schemas['PhaseRecord']!.properties['attempts']).toMatchObject({ minimum: 0, examples: [1] });
    expect(JSON.stringify(committed).includes('-9007199254740991'), 'a schema still has no lower bound').toBe(false);
  });

  it('openapi/flowd-api.ts is what openapi-typescript generates from it (regenerate: npm run openapi)', async () => {
    expect(await readFile(CLIENT_TYPES_FILE, 'utf8'), `${CLIENT_TYPES_FILE} is out of date: run npm run openapi`).toBe(await clientTypesText(committed));
  }, 30_000);
});
