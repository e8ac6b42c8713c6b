/**
 * The error model: one catalogue of stable codes; exported classes with their code and
 * retryable/recoverable flags, the cause always kept; one place (src/http/problem.ts) that maps
 * them to HTTP; every code documented in the error table of docs/errors.md and in the OpenAPI
 * `ErrorCode` enum.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  ComponentError,
  CompensationError,
  ConfigurationError,
  ERROR_CODES,
  ExpressionError,
  FlowExecutionError,
  FlowdError,
  InputValidationError,
  PROBLEM_TYPE_BASE,
  TimeoutError,
  problemTypeFor,
  toFlowdError,
  type ErrorCode,
} from '../../src/errors.js';
import { problemFromError } from '../../src/http/problem.js';
import { startTestService, type TestService } from '../helpers/service.js';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const cause = new Error('the original');

describe('the catalogue', () => {
  it('has well-formed codes, each with its own problem type URI and a real HTTP status', () => {
    for (const code of codes) {
      expect(code).toMatch(/^FLOWD_ERR_[A-Z][A-Z_]*[A-Z]$/);
      expect(problemTypeFor(code).startsWith(PROBLEM_TYPE_BASE)).toBe(true);
      const { status, title } = ERROR_CODES[code];
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(title.length).toBeGreaterThan(0);
    }
    expect(new Set(codes.map(problemTypeFor)).size).toBe(codes.length);
    expect(new Set(codes.map((code) => code.toLowerCase())).size).toBe(codes.length);
  });
});

/** Each exported class: its code, flags, and the cause it was given. */
const cases: { name: string; make: (options: { cause: unknown }) => FlowdError; code: ErrorCode; retryable: boolean; recoverable: boolean }[] = [
  { name: 'ConfigurationError', make: (o) => new ConfigurationError([{ path: 'x', message: 'bad' }], o), code: 'FLOWD_ERR_CONFIG_INVALID', retryable: false, recoverable: false },
  { name: 'InputValidationError', make: (o) => new InputValidationError('bad input', [{ path: 'input.a', message: 'required' }], o), code: 'FLOWD_ERR_INPUT_INVALID', retryable: false, recoverable: false },
  { name: 'ComponentError 503', make: (o) => new ComponentError('down', { kind: 'status', upstreamStatus: 503 }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: true, recoverable: true },
  { name: 'ComponentError 429', make: (o) => new ComponentError('slow down', { kind: 'status', upstreamStatus: 429 }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: true, recoverable: true },
  { name: 'ComponentError 408', make: (o) => new ComponentError('timeout', { kind: 'status', upstreamStatus: 408 }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: true, recoverable: true },
  { name: 'ComponentError 404', make: (o) => new ComponentError('missing', { kind: 'status', upstreamStatus: 404 }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: false, recoverable: false },
  { name: 'ComponentError network', make: (o) => new ComponentError('reset', { kind: 'network' }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: true, recoverable: true },
  { name: 'ComponentError protocol', make: (o) => new ComponentError('garbled', { kind: 'protocol' }, o), code: 'FLOWD_ERR_COMPONENT_FAILED', retryable: false, recoverable: false },
  { name: 'TimeoutError attempt', make: (o) => new TimeoutError('attempt', 'slow call', o), code: 'FLOWD_ERR_PHASE_TIMEOUT', retryable: true, recoverable: true },
  { name: 'TimeoutError phase', make: (o) => new TimeoutError('phase', 'slow phase', o), code: 'FLOWD_ERR_PHASE_TIMEOUT', retryable: false, recoverable: true },
  { name: 'TimeoutError flow', make: (o) => new TimeoutError('flow', 'slow flow', o), code: 'FLOWD_ERR_FLOW_TIMEOUT', retryable: false, recoverable: true },
  { name: 'CircuitOpenError', make: (o) => new CircuitOpenError('payments', 10, o), code: 'FLOWD_ERR_CIRCUIT_OPEN', retryable: false, recoverable: true },
  { name: 'BulkheadRejectedError', make: (o) => new BulkheadRejectedError('payments', o), code: 'FLOWD_ERR_BULKHEAD_FULL', retryable: false, recoverable: true },
  { name: 'ExpressionError', make: (o) => new ExpressionError('bad expression', { expression: 'a.b', where: 'phases[0].request' }, o), code: 'FLOWD_ERR_EXPRESSION_FAILED', retryable: false, recoverable: false },
  { name: 'CompensationError', make: (o) => new CompensationError(['reserve_line#0'], o), code: 'FLOWD_ERR_COMPENSATION_FAILED', retryable: false, recoverable: false },
];

describe('error classes', () => {
  it.each(cases)('$name: code, flags, cause', ({ make, code, retryable, recoverable }) => {
    const error = make({ cause });

    expect(error).toBeInstanceOf(FlowdError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.recoverable).toBe(recoverable);
    expect(error.cause).toBe(cause);
    expect(error.status).toBe(ERROR_CODES[code].status);
    expect(error.name).toBe(error.constructor.name);
  });

  it('InputValidationError can never be made retryable or recoverable', () => {
    const error = new InputValidationError('bad', [], { retryable: true, recoverable: true });
    expect([error.retryable, error.recoverable]).toEqual([false, false]);
  });

  it('ComponentError keeps the upstream status and Retry-After', () => {
    const error = new ComponentError('busy', { kind: 'status', upstreamStatus: 503, retryAfterSeconds: 7, body: { why: 'maintenance' } });
    expect(error.upstreamStatus).toBe(503);
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.details).toMatchObject({ status: 503, body: { why: 'maintenance' } });
  });

  it('CircuitOpenError says when to come back; CompensationError what is still pending', () => {
    expect(new CircuitOpenError('payments', 10).retryAfterSeconds).toBe(10);
    expect(new CompensationError(['hold', 'reserve_line#1']).pending).toEqual(['hold', 'reserve_line#1']);
  });

  it('FlowExecutionError carries phase, attempts, context and the recoverability of its cause, which it keeps', () => {
    const upstream = new ComponentError('down', { kind: 'status', upstreamStatus: 503 });
    const error = new FlowExecutionError(upstream, { phase: 'charge', attempts: 3, context: { executionId: 'e-1' } });

    expect(error.code).toBe('FLOWD_ERR_COMPONENT_FAILED');
    expect(error.phase).toBe('charge');
    expect(error.attempts).toBe(3);
    expect(error.context).toEqual({ executionId: 'e-1' });
    expect(error.isRecoverable).toBe(true);
    expect(error.cause).toBe(upstream);
    expect(new FlowExecutionError(new ExpressionError('x')).isRecoverable).toBe(false);
  });

  it('toFlowdError wraps anything else as FLOWD_ERR_INTERNAL, keeping it as cause', () => {
    const wrapped = toFlowdError(cause);
    expect(wrapped.code).toBe('FLOWD_ERR_INTERNAL');
    expect(wrapped.cause).toBe(cause);
    const flowd = new ExpressionError('x');
    expect(toFlowdError(flowd)).toBe(flowd);
  });
});

describe('HTTP mapping (src/http/problem.ts)', () => {
  it.each(cases)('$name becomes a problem with its catalogue status and type', ({ make, code }) => {
    const problem = problemFromError(make({ cause }), 'req-1');
    expect(problem).toMatchObject({ code, status: ERROR_CODES[code].status, type: problemTypeFor(code), title: ERROR_CODES[code].title, instance: 'req-1' });
  });

  it('never leaks the message of an internal error', () => {
    const problem = problemFromError(new Error('secret stack detail'));
    expect(problem).toMatchObject({ code: 'FLOWD_ERR_INTERNAL', status: 500, detail: 'internal error' });
  });
});

describe('documentation of every code', () => {
  it('the error table of docs/errors.md lists every code', () => {
    const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const tableRows = page.split('\n').filter((line) => /^\|\s*`FLOWD_ERR_[A-Z_]+`\s*\|/.test(line));
    const documented = tableRows.map((line) => /`(FLOWD_ERR_[A-Z_]+)`/.exec(line)![1]!);
    expect(codes.filter((code) => !documented.includes(code)), 'codes missing from the error table').toEqual([]);
    expect(documented.filter((code) => !(code in ERROR_CODES)), 'rows for codes that do not exist').toEqual([]);
    expect(new Set(documented).size, 'a code listed twice').toBe(documented.length);
    // The HTTP column says the status the code is answered with (the configuration error ends the process instead).
    for (const row of tableRows) {
      const [, code, http] = /^\|\s*`(FLOWD_ERR_[A-Z_]+)`\s*\|\s*([^|]+?)\s*\|/.exec(row)!;
      if (code === 'FLOWD_ERR_CONFIG_INVALID') continue;
      expect(http, code).toBe(String(ERROR_CODES[code as keyof typeof ERROR_CODES].status));
    }
  });

  describe('OpenAPI', () => {
    let service: TestService;
    beforeAll(async () => {
      service = await startTestService({ LOG_LEVEL: 'silent' });
      await service.app.ready();
    });
    afterAll(async () => service.close());

    it('the ErrorCode enum lists exactly the catalogue', () => {
      const document = service.app.swagger() as { components?: { schemas?: Record<string, { enum?: string[] }> } };
      expect([...(document.components?.schemas?.['ErrorCode']?.enum ?? [])].sort()).toEqual([...codes].sort());
    });
  });
});
