import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFlowDocument } from '../../src/docs/flow-document.js';
import { buildEngine, type BuiltEngine } from '../../src/library.js';
import { startTestService, type TestService } from '../helpers/service.js';

/** Headings of the seed template, in its order. */
const SEED_SECTIONS = [
  '## 1. Overview',
  '## 2. Components Involved',
  '## 3. Flow Diagram',
  '## 4. Detailed Steps',
  '## 5. Error Handling',
  '### Common Error Scenarios',
  '**Configuration Errors:**',
  '**Runtime Errors:**',
  '**Error recovery patterns:**',
  '## 6. Performance Considerations',
  '### Optimization Strategies',
  '### Scalability Factors',
  '### Monitoring Points',
  '## 7. Examples',
  '## 8. Integration with Other Flows',
  '### Flow Dependencies',
  '## 9. Testing',
  '### Test Strategy',
  '### Key Test Scenarios',
  '### Performance Benchmarks',
];

describe('flow documents', () => {
  let examples: BuiltEngine;
  beforeAll(async () => {
    examples = await buildEngine({ flowsDir: 'flows' });
  });
  afterAll(() => examples.engine.close());

  const render = (name: string): string => renderFlowDocument(examples.flows.get(name)!, { flows: examples.flows });

  it('follows the seed template section by section for every example flow', () => {
    for (const name of examples.flows.keys()) {
      const text = render(name);
      let at = -1;
      for (const heading of SEED_SECTIONS) {
        const found = text.indexOf(heading, at + 1);
        expect(found, `${name}: "${heading}" after position ${at}`).toBeGreaterThan(at);
        at = found;
      }
      expect(text).toMatch(/^# [A-Z].* Flow\n\n\*\*Version:\*\* \S+\n\*\*Date:\*\* /);
    }
  });

  it('describes each phase with its component, its mappings as written, and a sequence diagram for external calls', () => {
    const text = render('order-fulfillment');
    expect(text).toContain('### Phase 1: customer');
    expect(text).toContain('### Phase 2.1: reserve_line');
    expect(text).toContain('### Phase 3.2: charge');
    expect(text).toContain(`path: "{% '/customers/' & input.customer_id %}"`);
    expect(text).toContain('**customers** (`mock` adapter, mock (canned responses)): Customer directory; tells the customer\'s tier.');
    // One sequence diagram per call phase that reaches another system: customer, reserve_line, both charges, fraud_score, ship.
    expect(text.match(/```mermaid\nsequenceDiagram/g)).toHaveLength(6);
    const loyalty = render('loyalty-points');
    expect(loyalty).not.toContain('sequenceDiagram');
  });

  it('states the policies actually configured, resolved with the defaults', () => {
    const text = render('order-fulfillment');
    expect(text).toContain('| `charge` | `payments` | up to 3 attempts; backoff 50 ms × 2ⁿ, capped at 500 ms, full jitter;');
    expect(text).toContain('opens after 5 consecutive failures; half-opens after 10 s');
    expect(text).toContain('at most 50 concurrent calls, 100 queued');
    expect(text).toContain('the whole flow has a 5 s deadline');
    expect(text).toContain('Recovery flow **[order-recovery](order-recovery.md)**');
    expect(text).toContain('the completed phases among `reserve_line`, `charge_priority`, `charge` are undone newest first');
    // user-onboarding sets no retry policy: flowd's defaults apply.
    expect(render('user-onboarding')).toContain('up to 3 attempts; backoff 100 ms × 2ⁿ, capped at 2 s, full jitter');
  });

  it('draws the flows it depends on and the flows that use it', () => {
    expect(render('order-fulfillment')).toContain('self -->|"sub-flow: points"| f_loyalty_points');
    const loyalty = render('loyalty-points');
    expect(loyalty).toContain('**[order-fulfillment](order-fulfillment.md)**: calls this flow as a sub-flow in phase `points`');
    expect(loyalty).toContain('f_order_fulfillment -->|"sub-flow: points"| self');
    expect(render('order-recovery')).toContain('uses this flow as its recovery flow');
  });

  it('describes prerequisites and triggered flows, both ways', async () => {
    const noop = [{ id: 'step', component: 'transform', request: '{% 1 %}' }];
    const built = await buildEngine({
      flows: [
        { name: 'checkout', depends_on: [{ flow: 'verify', input: '{% {"who": 1} %}' }, { flow: 'fraud', within_ms: 60000, correlation_key: '{% "k" %}' }], triggers: [{ flow: 'audit', on: 'completed' }], phases: noop },
        { name: 'verify', phases: noop },
        { name: 'fraud', phases: noop },
        { name: 'audit', phases: noop },
      ],
    });
    try {
      const doc = (name: string): string => renderFlowDocument(built.flows.get(name)!, { flows: built.flows });
      const checkout = doc('checkout');
      expect(checkout).toContain('**[verify](verify.md)**: prerequisite — runs first');
      expect(checkout).toContain('**[fraud](fraud.md)**: prerequisite — must have succeeded within the last 60000 ms for the correlation key `"k"`');
      expect(checkout).toContain('**[audit](audit.md)**: dependent — started asynchronously when this flow ends, whatever the outcome');
      expect(checkout).toContain('f_verify -->|"prerequisite"| self');
      expect(checkout).toContain('self -.->|"triggers on completed"| f_audit');
      expect(doc('audit')).toContain('**[checkout](checkout.md)**: starts this flow asynchronously when it ends.');
      expect(doc('verify')).toContain('**[checkout](checkout.md)**: runs this flow first, as a prerequisite');
    } finally {
      await built.engine.close();
    }
  });

  it('gives curl and TypeScript for every example', () => {
    const text = render('user-onboarding');
    for (const example of ['personal', 'business']) expect(text).toContain(`: ${example}\n`);
    expect(text.match(/curl -sS -X POST 'http:\/\/127\.0\.0\.1:3000\/flows\/user-onboarding\/execute'/g)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toContain('"email": "grace@acme.example"');
  });

  it('shows the origin of http components and the names of their secrets, never the secret values', async () => {
    const built = await buildEngine({
      env: { PAY_HOST: 'pay-7f3k2.example', PAY_TOKEN: 'tok-very-secret-9931' },
      flows: [
        {
          name: 'pay',
          components: {
            payments: {
              adapter: 'http',
              description: 'Charges cards.',
              base_url: 'https://${secret:PAY_HOST}/v1',
              headers: { authorization: 'Bearer ${secret:PAY_TOKEN}' },
            },
          },
          phases: [{ id: 'charge', component: 'payments', request: { method: 'POST', path: '/charges' } }],
        },
      ],
    });
    try {
      const text = renderFlowDocument(built.flows.get('pay')!, { flows: built.flows, secrets: built.secrets });
      expect(text).not.toContain('tok-very-secret-9931');
      expect(text).not.toContain('pay-7f3k2.example');
      expect(text).toContain('**payments** (`http` adapter, target https://[REDACTED]) - Charges cards.');
      expect(text).toContain('Secrets read at load: `PAY_HOST`, `PAY_TOKEN`');
    } finally {
      await built.engine.close();
    }
  });

  it('is committed under docs/flows for every example flow, up to date (regenerate: npm run docs:flows)', async () => {
    const committed = (await readdir('docs/flows')).filter((file) => file.endsWith('.md')).sort();
    expect(committed).toEqual([...examples.flows.keys()].map((name) => `${name}.md`).sort());
    for (const name of examples.flows.keys()) {
      const text = await readFile(`docs/flows/${name}.md`, 'utf8');
      expect(text, `docs/flows/${name}.md is out of date: run npm run docs:flows`).toBe(render(name));
    }
  });
});

describe('GET /flows/{name}/doc', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService({ LOG_LEVEL: 'silent' });
  });
  afterAll(() => service.close());

  it('answers Markdown, dated today, with "no executions yet" before any run', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/flows/shipping-quote/doc' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(response.body).toContain(`**Date:** ${new Date().toISOString().slice(0, 10)}`);
    expect(response.body).toContain('**no executions yet**');
  });

  it('shows live figures from the metrics: executions, error ratio and p95 latency', async () => {
    for (let i = 0; i < 3; i += 1) {
      const run = await service.app.inject({ method: 'POST', url: '/flows/loyalty-points/execute', payload: { input: { customer_id: 'c-1', lines: i } } });
      expect(run.statusCode).toBe(200);
    }
    const response = await service.app.inject({ method: 'GET', url: '/flows/loyalty-points/doc' });
    const row = response.body.split('\n').find((line) => line.startsWith('| 3 |'));
    expect(row).toMatch(/^\| 3 \| 0\.0% \| \d+\.\d ms \| succeeded 3 \|$/);
  });

  it('answers 404 problem+json for an unknown flow', async () => {
    const response = await service.app.inject({ method: 'GET', url: '/flows/nope/doc' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'FLOWD_ERR_FLOW_NOT_FOUND' });
  });
});
