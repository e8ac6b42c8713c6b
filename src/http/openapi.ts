import swagger from '@fastify/swagger';
import swaggerUi, { type FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import { flowOperationPaths } from './flow-operations.js';
import { askForApiKeyOnce, sendStoredApiKey } from './swagger-ui-auth.js';

export const OPENAPI_INFO = {
  title: 'flowd',
  description:
    'Flow orchestration as a REST API. Every non-2xx answer is application/problem+json (RFC 9457) with a stable `code`.',
  version: '0.1.0',
};

type Transform = typeof jsonSchemaTransform;
type UiConfig = NonNullable<FastifySwaggerUiOptions['uiConfig']>;
type TransformInput = Parameters<Transform>[0];

/**
 * OpenAPI 3.1 generated from the route schemas (zod schemas converted), plus each loaded flow's
 * own execute operation (plain JSON Schema: its input schema, and its examples) made from the
 * catalog: `/openapi.json`, `/docs/json`, `/docs/yaml` and Swagger UI follow every reload.
 */
export async function registerOpenApi(app: FastifyInstance, flows: FlowCatalog): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      tags: [
        { name: 'flows: execute', description: 'One operation per loaded flow' },
        { name: 'execute' },
        { name: 'flows' },
        { name: 'executions' },
        { name: 'catalog', description: 'The loaded flow set: its last reload, and reloading it' },
        { name: 'health' },
      ],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key (see README: Security)' } },
      },
      security: [{ apiKey: [] }],
    },
    transform: (input: TransformInput) => jsonSchemaTransform(input),
    transformObject: (input) => pruneUnusedComponents(jsonSchemaTransformObject(input) as OpenApiDocument),
  });
  // The routes' document is built once (by @fastify/swagger); the flows' operations once per catalog generation.
  let cached: { generation: number; document: OpenApiDocument } | undefined;
  const document = (): OpenApiDocument => {
    if (cached === undefined || cached.generation !== flows.generation) {
      const base = app.swagger() as OpenApiDocument;
      cached = { generation: flows.generation, document: { ...base, paths: { ...base.paths, ...flowOperationPaths(flows) } } };
    }
    return cached.document;
  };
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: {
      deepLinking: true,
      tryItOutEnabled: true,
      persistAuthorization: true,
      // The document needs flows:read when auth is on: the page sends the user's key (swagger-ui-auth.ts).
      requestInterceptor: sendStoredApiKey as unknown as UiConfig['requestInterceptor'],
      responseInterceptor: askForApiKeyOnce as unknown as UiConfig['responseInterceptor'],
    },
    transformSpecification: () => document(),
    transformSpecificationClone: false,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async (_request, reply) => reply.type('application/json').send(document()));
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
  [key: string]: unknown;
}

/**
 * Every registered schema is published twice (request and response variants); keep only the
 * components some operation, or another kept component, references.
 */
function pruneUnusedComponents(document: OpenApiDocument): OpenApiDocument {
  const schemas = document.components?.schemas;
  if (schemas === undefined) return document;
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string' && child.startsWith(SCHEMA_REF_PREFIX)) {
          const id = child.slice(SCHEMA_REF_PREFIX.length);
          if (!used.has(id)) {
            used.add(id);
            visit(schemas[id]);
          }
        } else {
          visit(child);
        }
      }
    }
  };
  visit(document.paths);
  document.components = { ...document.components, schemas: Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id))) };
  return document;
}

const SCHEMA_REF_PREFIX = '#/components/schemas/';
