import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../src/errors.js';
import { compileTemplate, evaluateTemplate, isPromiseLike } from '../../../src/expressions/index.js';

const scope = {
  input: { order_id: 'o-1', customer_id: 'c-42', items: [{ sku: 'A-1', qty: 2 }] },
  item: { sku: 'A-1', qty: 2 },
  phases: { reserve: { body: { id: 'r-9' } } },
};

describe('compileTemplate', () => {
  it('returns a static template that evaluates to the literal value itself', () => {
    const literal = { method: 'POST', path: '/reservations', headers: { accept: 'application/json' }, tags: ['a', 1, null] };
    const template = compileTemplate(literal, 'phases[0].request');
    expect(template.static).toBe(true);
    expect(template.expressions).toHaveLength(0);
    expect(template.evaluate(scope)).toBe(literal);
  });

  it('yields an expression value with its type, not a string', () => {
    const template = compileTemplate({ qty: '{% item.qty %}', order: "{% { 'id': input.order_id } %}" }, 'r');
    expect(template.evaluate(scope)).toEqual({ qty: 2, order: { id: 'o-1' } });
  });

  it('evaluates nested objects and arrays, keeping static parts and building a fresh result per call', () => {
    const headers = { accept: 'application/json' };
    const template = compileTemplate(
      { method: 'POST', headers, body: { sku: '{% item.sku %}', lines: ['{% item.qty %}', 'fixed'] } },
      'phases[0].request',
    );
    expect(template.static).toBe(false);
    const first = template.evaluate(scope) as Record<string, unknown>;
    const second = template.evaluate(scope) as Record<string, unknown>;
    expect(first).toEqual({ method: 'POST', headers, body: { sku: 'A-1', lines: [2, 'fixed'] } });
    expect(first).not.toBe(second);
    expect(first['body']).not.toBe(second['body']);
    expect(first['headers']).toBe(headers);
  });

  it('is synchronous when every expression takes the fast path and a Promise otherwise', async () => {
    const fast = compileTemplate({ a: '{% item.sku %}', b: ["{% 'x' & item.qty %}"] }, 'r');
    expect(isPromiseLike(fast.evaluate(scope))).toBe(false);
    const slow = compileTemplate({ a: '{% item.sku %}', b: ["{% $substringBefore(item.sku, '-') %}"] }, 'r');
    const pending = slow.evaluate(scope);
    expect(isPromiseLike(pending)).toBe(true);
    expect(await pending).toEqual({ a: 'A-1', b: ['A'] });
    expect(await evaluateTemplate(fast, scope)).toEqual({ a: 'A-1', b: ['x2'] });
  });

  it('compiles each expression with its location and unions the references', () => {
    const template = compileTemplate(
      { path: "{% '/r/' & phases.reserve.body.id %}", body: { 'x-id': '{% input.order_id %}', list: ['{% item.sku %}'] } },
      'phases[3].request',
    );
    expect(template.expressions.map((e) => e.where)).toEqual([
      'phases[3].request.path',
      'phases[3].request.body.x-id',
      'phases[3].request.body.list[0]',
    ]);
    expect([...template.phaseRefs]).toEqual(['reserve']);
    expect([...template.rootRefs].sort()).toEqual(['input', 'item', 'phases']);
  });

  it('quotes keys that are not identifiers in locations', () => {
    const template = compileTemplate({ 'a b': '{% item.sku %}' }, 'output');
    expect(template.expressions[0]?.where).toBe('output["a b"]');
  });

  it('accepts a template that is a single expression string', () => {
    const template = compileTemplate('{% input.customer_id %}', 'phases[1].cache.key');
    expect(template.static).toBe(false);
    expect(template.evaluate(scope)).toBe('c-42');
  });

  it('fails at load on a string that mixes text and an expression, naming the nested location', () => {
    expect(() => compileTemplate({ request: { path: '/customers/{% input.id %}' } }, 'phases[0]')).toThrow(
      /phases\[0\]\.request\.path: .*JSONata's & operator/,
    );
  });

  it('fails at load on a syntax error, naming the nested location', () => {
    expect(() => compileTemplate({ body: ['{% input. %}'] }, 'phases[0].request')).toThrow(
      /phases\[0\]\.request\.body\[0\]: syntax error at character 7 of the expression/,
    );
  });

  it('fails evaluation when a nested fast expression produces no value, naming its location', () => {
    const template = compileTemplate({ method: 'GET', path: "{% input.idd %}" }, 'phases[0].request');
    expect(() => template.evaluate(scope)).toThrow(
      'phases[0].request.path: expression "input.idd" produced no value (a path it reads is missing)',
    );
  });

  it('fails evaluation when a nested JSONata expression produces no value, never sending null', async () => {
    const template = compileTemplate({ body: { sku: '{% $lookup(item, "nope") %}' } }, 'phases[0].request');
    await expect(evaluateTemplate(template, scope)).rejects.toThrow(ExpressionError);
    await expect(evaluateTemplate(template, scope)).rejects.toThrow(/phases\[0\]\.request\.body\.sku: .*produced no value/);
  });

  it('does not leave an unhandled rejection when a later fast expression throws after a slow one started', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const template = compileTemplate({ a: '{% $lookup(item, "nope") %}', b: '{% item.nope %}' }, 'r');
      expect(() => template.evaluate(scope)).toThrow(/r\.b: /);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('keeps a __proto__ key of the flow file as an own data property, not a prototype', () => {
    const literal = JSON.parse('{"__proto__": {"polluted": 1}, "x": "{% item.sku %}"}') as Record<string, unknown>;
    const value = compileTemplate(literal, 'r').evaluate(scope) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(value, '__proto__')).toBe(true);
    expect(value['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(value)).toBe('{"__proto__":{"polluted":1},"x":"A-1"}');
  });
});
