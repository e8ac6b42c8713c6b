import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { problem, sendProblem } from './problem.js';

/** What API routes answer unless their schema says otherwise (`produces`). */
const JSON_TYPES = ['application/json', 'application/problem+json'];

/** Pages and assets (console, Swagger UI, the icon) are for browsers: their Accept is never refused. */
const BROWSER_PATHS = /^\/(console|docs)(\/|$)|^\/favicon\.ico$/;

/**
 * 405 and 406 as REST clients expect them. A path that exists with other methods answers
 * `405 FLOWD_ERR_METHOD_NOT_ALLOWED` with an `Allow` header (instead of 404); an `Accept` header
 * that excludes everything a route can answer gets `406 FLOWD_ERR_NOT_ACCEPTABLE` naming what it
 * can answer. Runs after the security hooks, so neither tells an anonymous caller anything.
 */
export function registerNegotiation(app: FastifyInstance): { allowedMethods(path: string): string[] } {
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.split('/').map(segmentPattern).join('/')}$`);
    for (const method of [route.method].flat()) routes.push({ pattern, method });
  });
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const accept = request.headers.accept;
    // The common cases cost one comparison: no Accept, or one that takes anything.
    if (accept === undefined || accept === '*/*' || request.routeOptions.url === undefined) return done();
    const schema = request.routeOptions.schema;
    const produces = schema?.produces ?? JSON_TYPES;
    if ((accept === 'application/json' && produces === JSON_TYPES) || BROWSER_PATHS.test(request.routeOptions.url) || acceptsAny(accept, produces)) return done();
    sendProblem(
      reply,
      problem('FLOWD_ERR_NOT_ACCEPTABLE', `this route answers ${produces.join(' or ')}, which the Accept header "${accept}" excludes; send Accept: ${produces[0]} (or no Accept header)`, {
        instance: request.id,
      }),
    );
  });
  return {
    allowedMethods: (path) => [...new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method))].sort(),
  };
}

function segmentPattern(segment: string): string {
  if (segment.startsWith(':')) return '[^/]+';
  if (segment === '*') return '.*';
  return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether any media range of `accept` with a q above 0 matches one of `types` (wildcards included). */
export function acceptsAny(accept: string, types: readonly string[]): boolean {
  for (const range of accept.split(',')) {
    const [media = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    const [type, subtype] = media.split('/');
    for (const candidate of types) {
      const [candidateType, candidateSubtype] = candidate.split('/');
      if ((type === '*' || type === candidateType) && (subtype === '*' || subtype === candidateSubtype)) return true;
    }
  }
  return false;
}
