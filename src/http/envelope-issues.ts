import type { z } from 'zod';
import { formatPath } from '../flows/compiler.js';
import { describeValue } from '../flows/suggest.js';
import { plainZodIssues } from '../flows/zod-words.js';
import { ExecuteBodySchema } from './schemas.js';

/** What an execute request body looks like, for messages. */
export const ENVELOPE_SHAPE = '{"input": …} (optionally with "options": {…})';

export interface EnvelopeProblem {
  readonly detail: string;
  readonly issues: { path: string; message: string }[];
}

/**
 * The execute envelope's problems in plain words — `the body must be {"input": …}: body.input is
 * required` — each with its path, what was found and what is allowed (near key names suggested).
 * Built only when the envelope is invalid.
 */
export function envelopeProblem(body: unknown, zodIssues: readonly z.core.$ZodIssue[]): EnvelopeProblem {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const message = `must be ${ENVELOPE_SHAPE} (found ${describeValue(body)})`;
    return { detail: `the body ${message}`, issues: [{ path: 'body', message }] };
  }
  const issues = plainZodIssues(zodIssues, body, ExecuteBodySchema).map((issue) => ({ path: formatPath(['body', ...issue.path]), message: issue.message }));
  return { detail: `the body must be ${ENVELOPE_SHAPE}: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues };
}
