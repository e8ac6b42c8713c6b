/** examples/basic.ts: the seed's basic example works against the library API. */
import { describe, expect, it } from 'vitest';
import { buildEngine } from '../../src/index.js';
import { executeFlow, exampleFlow, main } from '../../examples/basic.js';

describe('examples/basic.ts', () => {
  it('main() executes example_flow and reports success with the data', async () => {
    const lines: unknown[][] = [];
    const result = await main((...args) => void lines.push(args));

    expect(result.success).toBe(true);
    expect(result.success && result.data).toEqual({
      processed: { user: 'Ada', operation: 'process_request', parameters: { priority: 'high' } },
      user_id: '12345',
    });
    expect(lines).toEqual([['processed:', JSON.stringify(result.success && result.data)]]);
  });

  it('reports a failed flow as { success: false, error } with the error code', async () => {
    const { engine } = await buildEngine({ flows: [exampleFlow({ adapter: 'mock', responses: { default: { status: 503 } } })], random: () => 0 });
    try {
      const result = await executeFlow(engine, 'example_flow', { user_id: '1', operation: 'process_request' });
      expect(result.success).toBe(false);
      expect(!result.success && result.error).toMatchObject({ code: 'FLOWD_ERR_COMPONENT_FAILED', phase: 'user', attempts: 3 });
      expect(result.record?.status).toBe('failed');
    } finally {
      await engine.close();
    }
  });

  it('reports invalid input (nothing ran) the same way', async () => {
    const { engine } = await buildEngine({ flows: [exampleFlow()] });
    try {
      const result = await executeFlow(engine, 'example_flow', { user_id: '1', operation: 'drop_tables' });
      expect(result).toMatchObject({ success: false, error: { code: 'FLOWD_ERR_INPUT_INVALID' }, record: undefined });
      const unknown = await executeFlow(engine, 'no_such_flow', {});
      expect(unknown).toMatchObject({ success: false, error: { code: 'FLOWD_ERR_FLOW_NOT_FOUND' } });
    } finally {
      await engine.close();
    }
  });
});
