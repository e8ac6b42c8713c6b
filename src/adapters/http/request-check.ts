import { didYouMean, listNames } from '../../flows/suggest.js';
import type { RequestIssue } from '../types.js';

/** The methods an http component sends, and the keys of its request: the one list the schema and the checks use. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const HTTP_REQUEST_KEYS = ['method', 'path', 'query', 'headers', 'body'] as const;
const METHODS: readonly string[] = HTTP_METHODS;
const KEYS: readonly string[] = HTTP_REQUEST_KEYS;

const isExpression = (value: unknown): boolean => typeof value === 'string' && value.includes('{%');

/**
 * An http phase's request as written in the flow file, checked at load where it is literal (an
 * expression is checked when it runs): known keys, a method flowd sends, headers as a map. A
 * typo (`method: GETT`, `pathh:`) is reported by `flowd validate` with a did-you-mean, instead of
 * failing the first execution.
 */
export function checkHttpRequestTemplate(template: unknown): RequestIssue[] {
  if (template === undefined || template === null || isExpression(template)) return [];
  if (typeof template !== 'object' || Array.isArray(template)) {
    return [{ path: [], message: 'an http request is { method, path, query, headers, body } (each may be an expression), or one expression that builds it' }];
  }
  const issues: RequestIssue[] = [];
  const request = template as Record<string, unknown>;
  for (const key of Object.keys(request)) {
    if (!KEYS.includes(key)) issues.push({ path: [key], message: `unknown request key "${key}"${didYouMean(key, KEYS)}; keys: ${listNames(KEYS)}` });
  }
  const { method, path, headers } = request;
  if (method !== undefined && !isExpression(method) && (typeof method !== 'string' || !METHODS.includes(method))) {
    const upper = typeof method === 'string' ? method.toUpperCase() : undefined;
    const near = upper === undefined ? '' : METHODS.includes(upper) ? ` (did you mean "${upper}"? methods are upper-case)` : didYouMean(upper, METHODS);
    issues.push({ path: ['method'], message: `method must be one of ${listNames(METHODS)} (found ${JSON.stringify(method)})${near}` });
  }
  if (path !== undefined && !isExpression(path) && typeof path !== 'string') issues.push({ path: ['path'], message: `path must be a string (found ${JSON.stringify(path)})` });
  if (headers !== undefined && !isExpression(headers) && (typeof headers !== 'object' || headers === null || Array.isArray(headers))) {
    issues.push({ path: ['headers'], message: 'headers must be a map of header name to value (each value may be an expression)' });
  }
  return issues;
}
