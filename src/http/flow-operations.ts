import type { CompiledFlow } from '../flows/compiled.js';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import { componentRef } from './record-schemas.js';

/** An OpenAPI path item holding one POST operation. */
export type FlowOperationPath = Record<string, unknown> & { readonly post: Record<string, unknown> };

/**
 * The documented execute operations of the loaded flows, made from the catalog (not from routes:
 * a reload changes them without new routes; the generic `/flows/{name}/execute` and
 * `/flows/{name}/versions/{version}/execute` routes serve them). One per flow for its current
 * version, and one per other loaded version; each request body schema is that definition's input
 * schema with its examples, so Swagger UI's "Try it out" runs it. The record, the problem and the
 * options are references to the shared components.
 */
export function flowOperationPaths(catalog: FlowCatalog): Record<string, FlowOperationPath> {
  const paths: Record<string, FlowOperationPath> = {};
  const names = [...catalog.keys()].sort();
  for (const name of names) {
    const current = catalog.get(name)!;
    paths[`/flows/${name}/execute`] = { post: operation(current, `execute_${identifier(name)}`, `Execute ${name} (v${current.version})`) };
  }
  for (const name of names) {
    for (const flow of catalog.versionsOf(name)) {
      if (flow === catalog.get(name)) continue;
      paths[`/flows/${name}/versions/${encodeURIComponent(flow.version)}/execute`] = {
        post: operation(flow, `execute_${identifier(name)}_v${identifier(flow.version)}`, `Execute ${name} version ${flow.version} (not the current one)`),
      };
    }
  }
  return paths;
}

function operation(flow: CompiledFlow, operationId: string, summary: string): Record<string, unknown> {
  const examples = Object.entries(flow.examples);
  return {
    operationId,
    summary,
    tags: ['flows: execute'],
    description: flow.description,
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['input'],
            additionalProperties: false,
            properties: { input: flow.inputSchema, options: componentRef('ExecuteOptionsInput') },
          },
          ...(examples.length === 0 ? {} : { examples: Object.fromEntries(examples.map(([name, input]) => [name, { summary: name, value: { input } }])) }),
        },
      },
    },
    responses: {
      200: { description: 'The execution record', content: { 'application/json': { schema: componentRef('ExecutionRecord') } } },
      default: { description: 'A problem (RFC 9457)', content: { 'application/problem+json': { schema: componentRef('Problem') } } },
    },
  };
}

/** A name as an operation id part: letters, digits and `_`. */
function identifier(text: string): string {
  return text.replaceAll(/[^A-Za-z0-9_]/g, '_');
}
