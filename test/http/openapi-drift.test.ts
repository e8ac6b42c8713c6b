import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiText } from '../../src/cli/commands.js';

/**
 * `openapi/openapi.json` is committed so clients and reviewers see API changes in diffs. It is
 * the document the app serves with the example flows loaded; regenerate with `npm run openapi`.
 */
describe('openapi/openapi.json', () => {
  it('is the document the app builds with the example flows (regenerate: npm run openapi)', async () => {
    const built = await buildOpenApiDocument('flows');
    const committed = JSON.parse(await readFile('openapi/openapi.json', 'utf8')) as Record<string, unknown>;
    expect(committed, 'openapi/openapi.json is out of date: run npm run openapi').toEqual(built);
  }, 30_000);

  it('is written in the stable form the generator writes (two-space JSON, final newline)', async () => {
    const text = await readFile('openapi/openapi.json', 'utf8');
    expect(text).toBe(openApiText(JSON.parse(text) as Record<string, unknown>));
  });

  it('documents every flow’s own execute operation with its examples, and the authoring routes', async () => {
    const committed = JSON.parse(await readFile('openapi/openapi.json', 'utf8')) as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { examples?: Record<string, unknown> }> } }>> };
    const operation = committed.paths['/flows/order-fulfillment/execute']?.['post'];
    expect(Object.keys(operation?.requestBody?.content?.['application/json']?.examples ?? {})).toEqual(['two-lines', 'gold-customer']);
    expect(committed.paths['/flows/{name}/doc']?.['get']).toBeDefined();
    expect(committed.paths['/executions/{id}/retry']?.['post']).toBeDefined();
    expect(committed.paths['/console']).toBeUndefined();
  });
});
