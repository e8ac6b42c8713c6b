import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsAny } from '../../src/http/negotiation.js';
import { startTestService, type TestService } from '../helpers/service.js';

/** Every refused request says what was wrong and what to send instead. */
describe('HTTP answers that say how to fix the request', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(() => service.close());

  const post = (url: string, payload: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    service.app.inject({ method: 'POST', url, headers, payload });
  const problemOf = (response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) => {
    expect(response.headers['content-type']).toContain('application/problem+json');
    return response.json() as { status: number; code: string; detail: string; issues?: { path: string; message: string }[] };
  };

  describe('405 and 406', () => {
    it('answers 405 with Allow for a path that exists with other methods', async () => {
      const response = await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/execute' });
      expect(response.statusCode).toBe(405);
      expect(response.headers['allow']).toBe('POST');
      expect(problemOf(response)).toMatchObject({ code: 'FLOWD_ERR_METHOD_NOT_ALLOWED', detail: '/flows/loyalty-points/execute does not answer GET; it answers POST' });
      const list = await service.app.inject({ method: 'DELETE', url: '/flows' });
      expect([list.statusCode, list.headers['allow']]).toEqual([405, 'GET, HEAD']);
    });

    it('still answers 404 for a path no route has', async () => {
      expect(problemOf(await service.app.inject({ method: 'GET', url: '/flow' })).code).toBe('FLOWD_ERR_NOT_FOUND');
    });

    it('answers 406 when Accept excludes JSON on a JSON route, naming what to send', async () => {
      const response = await service.app.inject({ method: 'GET', url: '/flows', headers: { accept: 'text/csv' } });
      expect(response.statusCode).toBe(406);
      expect(problemOf(response)).toMatchObject({
        code: 'FLOWD_ERR_NOT_ACCEPTABLE',
        detail: 'this route answers application/json or application/problem+json, which the Accept header "text/csv" excludes; send Accept: application/json (or no Accept header)',
      });
    });

    it('serves what Accept allows: JSON, wildcards, browsers, and each route its own type', async () => {
      for (const accept of ['application/json', '*/*', 'application/*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/problem+json']) {
        expect((await service.app.inject({ method: 'GET', url: '/flows', headers: { accept } })).statusCode, accept).toBe(200);
      }
      expect((await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/diagram', headers: { accept: 'text/vnd.mermaid' } })).statusCode).toBe(200);
      expect((await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/diagram', headers: { accept: 'application/json' } })).statusCode).toBe(406);
      expect((await service.app.inject({ method: 'GET', url: '/console', headers: { accept: 'text/html' } })).statusCode).toBe(200);
    });

    it('treats q=0 as a refusal', () => {
      expect(acceptsAny('application/json;q=0, text/csv', ['application/json'])).toBe(false);
      expect(acceptsAny('text/csv, application/json;q=0.1', ['application/json'])).toBe(true);
    });
  });

  describe('413, 415 and the execute envelope', () => {
    it('415 says to send application/json', async () => {
      const problem = problemOf(await post('/flows/loyalty-points/execute', 'lines=3', { 'content-type': 'application/x-www-form-urlencoded' }));
      expect(problem).toMatchObject({
        status: 415,
        detail: 'the request body must be JSON: send it with Content-Type: application/json (this request sent Content-Type: application/x-www-form-urlencoded)',
      });
    });

    it('413 says the limit', async () => {
      const problem = problemOf(await post('/flows/loyalty-points/execute', JSON.stringify({ input: { note: 'x'.repeat(3000) } })));
      expect(problem).toMatchObject({ status: 413, detail: 'the request body is larger than 2048 bytes, the limit of this service (BODY_LIMIT_BYTES); send a smaller body' });
    });

    it('words a bad envelope the same on the generic and the flow’s own route, with a did-you-mean', async () => {
      for (const url of ['/flows/loyalty-points/execute', '/flows/shipping-quote/execute']) {
        const problem = problemOf(await post(url, '{"inptu": {}}'));
        expect(problem.detail).toBe('the body must be {"input": …} (optionally with "options": {…}): body.input is required; body.inptu unknown key "inptu" (did you mean "input"?); allowed here: input, options');
        expect(problem.issues).toEqual([
          { path: 'body.input', message: 'is required' },
          { path: 'body.inptu', message: 'unknown key "inptu" (did you mean "input"?); allowed here: input, options' },
        ]);
      }
      const options = problemOf(await post('/flows/loyalty-points/execute', '{"input": {}, "options": {"timeoutMs": 0, "enableCache": false}}'));
      expect(options.issues).toEqual([
        { path: 'body.options.timeoutMs', message: 'must be at least 1 (found the number 0)' },
        { path: 'body.options.enableCache', message: 'unknown key "enableCache" (did you mean "enableCaching"?); allowed here: callbackUrl, correlationKey, enableCaching, parallelExecution, timeoutMs' },
      ]);
      expect(problemOf(await post('/flows/loyalty-points/execute', '[]')).detail).toBe('the body must be {"input": …} (optionally with "options": {…}) (found a list of 0 items)');
    });

    it('words input errors plainly, naming the type found but never the value', async () => {
      const problem = problemOf(await post('/flows/loyalty-points/execute', '{"input": {"customer_id": "secret-looking", "lines": "3", "extra": 1}}'));
      expect(problem.code).toBe('FLOWD_ERR_INPUT_INVALID');
      expect(problem.issues).toEqual([{ path: 'input.lines', message: 'must be an integer (found a string)' }]);
      expect(problem.detail).toBe('input does not match the schema of flow "loyalty-points": input.lines must be an integer (found a string)');
      const order = problemOf(await post('/flows/order-fulfillment/execute', '{"input": {"order_id": "o", "customer_id": "c", "items": [{"sku": "A", "qty": 0, "size": 1}], "note": "x"}}'));
      expect(order.issues).toEqual([
        { path: 'input.note', message: 'is not allowed here; properties allowed: order_id, customer_id, items' },
        { path: 'input.items[0].size', message: 'is not allowed here; properties allowed: sku, qty' },
        { path: 'input.items[0].qty', message: 'must be at least 1' },
      ]);
      expect(JSON.stringify(order)).not.toContain('secret-looking');
    });

    it('words query and path parameter errors plainly', async () => {
      const response = await service.app.inject({ method: 'GET', url: '/executions?status=faild' });
      expect(problemOf(response).detail).toBe(
        'invalid querystring: querystring.status must be one of: queued, running, waiting, succeeded, failed, compensated, compensation_failed, timed_out, cancelled (found the string "faild") (did you mean "failed"?)',
      );
    });
  });
});
