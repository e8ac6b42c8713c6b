import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import type { CompiledFlow } from '../../src/flows/compiled.js';
import { compileFlows, compileFlowVersions } from '../../src/flows/compiler.js';
import { compareVersions, FlowCatalog, MAX_RETIRED_DEFINITIONS, type CatalogSwap } from '../../src/flows/flow-catalog.js';
import { createBuiltinRegistry } from '../../src/library.js';

const dispatcher = new Agent();
afterAll(() => dispatcher.close());
const adapters = createBuiltinRegistry({ dispatcher });

/** One compiled definition of `name` at `version`, answering `answer`. */
function flow(name: string, version: string | number, answer = 'a'): CompiledFlow {
  const [compiled] = compileFlowVersions([{ source: `${name}-${version}.yaml`, definition: { name, version, phases: [{ id: 'x', component: 'transform', request: answer }] } }], { adapters, env: {} });
  return compiled!;
}

describe('FlowCatalog', () => {
  it('orders versions as people read them: 2 < 10, 1.9 < 1.10, v2 < v10', () => {
    expect(['10', '2', '1'].sort(compareVersions)).toEqual(['1', '2', '10']);
    expect(['1.10', '1.9'].sort(compareVersions)).toEqual(['1.9', '1.10']);
    expect(['v10', 'v2'].sort(compareVersions)).toEqual(['v2', 'v10']);
  });

  it('makes the highest loaded version of each flow the current one, and keeps every version reachable', () => {
    const catalog = new FlowCatalog([flow('order', 2), flow('order', 10), flow('order', 9), flow('ship', 1)]);
    expect(catalog.get('order')?.version).toBe('10');
    expect(catalog.versionsOf('order').map((loaded) => loaded.version)).toEqual(['2', '9', '10']);
    expect(catalog.getVersion('order', '2')?.version).toBe('2');
    expect(catalog.getVersion('order', '3')).toBeUndefined();
    expect([...catalog.keys()]).toEqual(['order', 'ship']);
    expect(catalog.size).toBe(2);
    expect(catalog.claimable()).toHaveLength(4);
  });

  it('keeps the very object of a definition that did not change (its breakers and components), and says what changed', () => {
    const unchanged = flow('a', 1);
    const catalog = new FlowCatalog([unchanged, flow('b', 1, 'old')]);
    const swap = catalog.replace([flow('a', 1), flow('b', 1, 'new'), flow('c', 1)]);
    expect(catalog.get('a')).toBe(unchanged);
    expect(swap.discarded.map((discarded) => discarded.name)).toEqual(['a']);
    expect(swap.changes).toEqual([
      { flow: 'a', version: '1', change: 'unchanged' },
      { flow: 'b', version: '1', change: 'changed' },
      { flow: 'c', version: '1', change: 'added' },
    ]);
    expect(swap.generation).toBe(2);
  });

  it('retires a definition that leaves: new executions find the new one, executions pinned to the old one still find it', () => {
    const v1 = flow('order', 1, 'one');
    const catalog = new FlowCatalog([v1]);
    const v2 = flow('order', 2, 'two');
    const swap = catalog.replace([v2]);
    expect(swap.changes).toEqual([
      { flow: 'order', version: '1', change: 'removed' },
      { flow: 'order', version: '2', change: 'added' },
    ]);
    expect(swap.retired).toEqual([v1]);
    expect(catalog.get('order')).toBe(v2);
    expect(catalog.getVersion('order', '1')).toBeUndefined();
    expect(catalog.pinned('order', v1.hash)).toBe(v1);
    expect(catalog.claimable()).toEqual(expect.arrayContaining([{ name: 'order', hash: v1.hash }, { name: 'order', hash: v2.hash }]));
  });

  it('takes a retired definition back as the same object when it is loaded again', () => {
    const v1 = flow('order', 1);
    const catalog = new FlowCatalog([v1]);
    const v2 = flow('order', 2);
    catalog.replace([v2]);
    catalog.replace([flow('order', 1)]);
    expect(catalog.get('order')).toBe(v1);
    // v1 loaded (once), v2 retired.
    expect(catalog.claimable()).toEqual([{ name: 'order', hash: v1.hash }, { name: 'order', hash: v2.hash }]);
  });

  it(`keeps at most ${MAX_RETIRED_DEFINITIONS} retired definitions claimable, and forgets older ones (closed when unused: definition-use.test.ts)`, () => {
    const first = flow('order', 1, 'answer-0');
    const catalog = new FlowCatalog([first]);
    for (let i = 1; i <= MAX_RETIRED_DEFINITIONS + 1; i += 1) catalog.replace([flow('order', 1, `answer-${i}`)]);
    expect(catalog.claimable()).toHaveLength(MAX_RETIRED_DEFINITIONS + 1);
    expect(catalog.pinned('order', first.hash)).toBeUndefined();
    expect(catalog.held()).not.toContain(first);
    expect(catalog.held()).toHaveLength(MAX_RETIRED_DEFINITIONS + 1);
  });

  it('tells its listeners of swaps that changed something, and only of those', () => {
    const catalog = new FlowCatalog([flow('a', 1)]);
    const swaps: CatalogSwap[] = [];
    catalog.onSwap((swap) => swaps.push(swap));
    expect(catalog.replace([flow('a', 1)]).changed).toBe(false);
    catalog.replace([flow('a', 2)]);
    expect(swaps.map((swap) => swap.generation)).toEqual([2]);
    expect(catalog.generation).toBe(2);
  });
});

describe('versions side by side in one flow set', () => {
  const compile = (definitions: Record<string, unknown>[]) =>
    compileFlowVersions(definitions.map((definition, index) => ({ source: `f${index}.yaml`, definition })), { adapters, env: {} });

  it('compiles several versions of one flow; compileFlows gives the current one of each', () => {
    const definitions = [
      { name: 'order', version: 1, phases: [{ id: 'x', component: 'transform', request: 1 }] },
      { name: 'order', version: 2, phases: [{ id: 'x', component: 'transform', request: 2 }] },
    ];
    expect(compile(definitions).map((compiled) => compiled.version)).toEqual(['1', '2']);
    const current = compileFlows(definitions.map((definition, index) => ({ source: `f${index}.yaml`, definition })), { adapters, env: {} });
    expect(current.get('order')?.version).toBe('2');
  });

  it('refuses two files with the same flow name and version, naming both files', () => {
    const same = { name: 'order', version: 3, phases: [{ id: 'x', component: 'transform', request: 1 }] };
    let error: unknown;
    try {
      compile([same, same]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).issues).toEqual([
      { file: 'f1.yaml', path: 'version', message: 'flow "order" version 3 is already defined in f0.yaml; versions of one flow side by side need different `version` values' },
    ]);
  });

  it('finds a cycle through any version of a flow, in the file of the version that closes it', () => {
    let error: unknown;
    try {
      compile([
        { name: 'a', version: 1, phases: [{ id: 'x', component: 'transform', request: 1 }] },
        { name: 'a', version: 2, phases: [{ id: 'x', flow: 'b' }] },
        { name: 'b', phases: [{ id: 'y', flow: 'a' }] },
      ]);
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigurationError).issues.map((issue) => `${issue.file}: ${issue.message}`)).toEqual([expect.stringMatching(/^f[12]\.yaml: flow cycle: /)]);
  });
});
