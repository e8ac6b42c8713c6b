/**
 * The components of a definition no longer in use are closed, not kept until shutdown: a
 * definition a reload retires (or drops past the retired bound) is closed once no execution of the
 * process runs on it, never under one; one that runs again reopens lazily and is closed again after.
 * With a counting adapter (the real brokers and databases: test/adapters/retired-connections.test.ts).
 */
import { Agent } from 'undici';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComponentAdapter } from '../../src/adapters/types.js';
import { FlowEngine } from '../../src/engine/flow-engine.js';
import type { CompiledFlow } from '../../src/flows/compiled.js';
import { compileFlowVersions } from '../../src/flows/compiler.js';
import { FlowCatalog, MAX_RETIRED_DEFINITIONS } from '../../src/flows/flow-catalog.js';
import { createBuiltinRegistry } from '../../src/library.js';

const dispatcher = new Agent();
afterAll(() => dispatcher.close());

/** Every instance of the `conn` adapter: whether it holds a connection, how often it opened and closed. */
interface Conn {
  readonly label: string;
  open: boolean;
  opens: number;
  closes: number;
  /** A call made while closed: must never happen. */
  callsWhileClosing: number;
}
const conns: Conn[] = [];
let gate: Promise<void> = Promise.resolve();

const counting: ComponentAdapter<{ label: string }> = {
  kind: 'conn',
  configSchema: z.object({ label: z.string() }),
  create(config) {
    const conn: Conn = { label: config.label, open: false, opens: 0, closes: 0, callsWhileClosing: 0 };
    conns.push(conn);
    let closing = false;
    return {
      async execute(request) {
        if (!conn.open) {
          conn.open = true;
          conn.opens += 1;
        }
        if (request === 'wait') await gate;
        if (closing) conn.callsWhileClosing += 1;
        return conn.label;
      },
      async ready() {},
      async close() {
        closing = true;
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (conn.open) conn.closes += 1;
        conn.open = false;
        closing = false;
      },
    };
  },
};
const adapters = createBuiltinRegistry({ dispatcher }).register(counting);

/** `order` at `version`, its component labelled `label`; phases `first` then `second` (which waits on the gate when asked). */
function definition(label: string, version = 1): CompiledFlow {
  const [compiled] = compileFlowVersions(
    [
      {
        source: `${label}.yaml`,
        definition: {
          name: 'order',
          version,
          components: { db: { adapter: 'conn', label } },
          phases: [
            { id: 'first', component: 'db', request: '{% $exists(input.first) ? input.first : "go" %}' },
            { id: 'second', component: 'db', request: 'go' },
          ],
        },
      },
    ],
    { adapters, env: {} },
  );
  return compiled!;
}

const connOf = (label: string): Conn => conns.find((conn) => conn.label === label)!;

function gated(): () => void {
  let open!: () => void;
  gate = new Promise<void>((resolve) => (open = resolve));
  return open;
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!check()) throw new Error(`never saw: ${what}`);
}

describe('closing the components of definitions no longer in use', () => {
  it('closes a retired definition at the reload when nothing runs on it, and keeps the loaded one open', async () => {
    const catalog = new FlowCatalog([definition('a1')]);
    const engine = new FlowEngine({ flows: catalog });
    expect((await engine.execute('order', {})).status).toBe('succeeded');
    expect(connOf('a1').open).toBe(true);

    catalog.replace([definition('a2')]);
    await until('a1 closed', () => !connOf('a1').open);
    expect((await engine.execute('order', {})).status).toBe('succeeded');
    expect(connOf('a2')).toMatchObject({ open: true, closes: 0 });
    await engine.close();
    expect(connOf('a2').open).toBe(false);
  });

  it('never closes under a running execution: the execution in flight finishes on the old definition, then it is closed', async () => {
    const catalog = new FlowCatalog([definition('b1')]);
    const engine = new FlowEngine({ flows: catalog });
    const open = gated();
    const running = engine.execute('order', { first: 'wait' });
    await until('b1 opened', () => connOf('b1').open);

    catalog.replace([definition('b2')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(connOf('b1')).toMatchObject({ open: true, closes: 0 });
    open();
    // The second phase calls the old definition's component after the reload: still the same connection.
    expect(await running).toMatchObject({ status: 'succeeded' });
    expect(connOf('b1')).toMatchObject({ opens: 1, callsWhileClosing: 0 });
    await until('b1 closed after its execution', () => !connOf('b1').open);
    await engine.close();
  });

  it('reopens a retired definition an execution runs on again (a resumed or queued one pinned to it), and closes it after', async () => {
    const v1 = definition('c1');
    const catalog = new FlowCatalog([v1]);
    const engine = new FlowEngine({ flows: catalog });
    await engine.execute('order', {});
    catalog.replace([definition('c2')]);
    await until('c1 closed', () => !connOf('c1').open);

    expect(catalog.pinned('order', v1.hash)).toBe(v1);
    expect((await engine.start(v1, {}).done).status).toBe('succeeded');
    expect(connOf('c1').opens).toBe(2);
    await until('c1 closed again', () => !connOf('c1').open);
    expect(connOf('c1').closes).toBe(2);
    await engine.close();
  });

  it('keeps a definition that is loaded again open after its executions end', async () => {
    const v1 = definition('d1');
    const catalog = new FlowCatalog([v1]);
    const engine = new FlowEngine({ flows: catalog });
    const open = gated();
    const running = engine.execute('order', { first: 'wait' });
    await until('d1 opened', () => connOf('d1').open);
    catalog.replace([definition('d2')]);
    catalog.replace([definition('d1')]);
    expect(catalog.get('order')).toBe(v1);
    open();
    await running;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(connOf('d1')).toMatchObject({ open: true, closes: 0 });
    await engine.close();
  });

  it(`closes a definition dropped past the ${MAX_RETIRED_DEFINITIONS} retired ones when its execution ends; the catalog forgets it`, async () => {
    const v1 = definition('e-first', 1);
    const catalog = new FlowCatalog([v1]);
    const engine = new FlowEngine({ flows: catalog });
    const open = gated();
    const running = engine.execute('order', { first: 'wait' });
    await until('e-first opened', () => connOf('e-first').open);
    for (let i = 0; i <= MAX_RETIRED_DEFINITIONS; i += 1) catalog.replace([definition(`e-${i}`, 1)]);
    expect(catalog.pinned('order', v1.hash)).toBeUndefined();
    expect(catalog.held()).not.toContain(v1);
    expect(connOf('e-first').open).toBe(true);
    open();
    expect((await running).status).toBe('succeeded');
    await until('e-first closed', () => !connOf('e-first').open);
    await engine.close();
  });

  it('holds a transaction’s definition while one of its phases runs', async () => {
    const catalog = new FlowCatalog([definition('f1')]);
    const engine = new FlowEngine({ flows: catalog });
    const tx = engine.transaction('order');
    const open = gated();
    const phase = tx.executePhase('first', { first: 'wait' });
    await until('f1 opened', () => connOf('f1').open);
    catalog.replace([definition('f2')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(connOf('f1').open).toBe(true);
    open();
    await phase;
    await until('f1 closed between phases', () => !connOf('f1').open);
    await tx.executePhase('second', {});
    await tx.commit();
    await until('f1 closed after the transaction', () => !connOf('f1').open);
    expect(connOf('f1')).toMatchObject({ opens: 2, closes: 2, callsWhileClosing: 0 });
    await engine.close();
  });
});
