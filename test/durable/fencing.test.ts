/**
 * (d) Fencing end to end: worker A runs an execution but stops renewing its lease (a long GC
 * pause, a network split); worker B takes it over. When A's upstream call finally returns, A's
 * checkpoint is refused, A stops without compensating or finishing, and the record is B's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDurableWriter, startDurable, type DurableParts } from '../../src/durable/durable-parts.js';
import { encodeEntries } from '../../src/durable/journal-codec.js';
import type { DurableSettings } from '../../src/durable/settings.js';
import type { ExecutionRecord } from '../../src/engine/record.js';
import { startedEntry } from '../../src/engine/run/execution.js';
import { silentLogger } from '../../src/engine/logger.js';
import { buildEngine, type BuiltEngine } from '../../src/library.js';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { CountingUpstream, createTestDatabase, readStored, waitFor, type Backend, type TestDatabase } from './helpers.js';
import { NO_CLEANING } from '../../src/observability/cleaner.js';

const SETTINGS: DurableSettings = {
  persistence: 'all',
  leaseMs: 400,
  heartbeatMs: 100,
  workerConcurrency: 4,
  pollMs: 50,
  claimBatch: 4,
  maxAttempts: 5,
  idempotencyTtlMs: 60_000,
  retentionMs: 0,
  retentionIntervalMs: 60_000,
  retentionBatch: 100,
  callbackAllow: '',
  callbackTimeoutMs: 1000,
  executionsMax: 100,
};

interface Node {
  durable: DurableParts;
  built: BuiltEngine;
  store: ExecutionStore;
  close(): Promise<void>;
}

async function startNode(store: ExecutionStore, upstream: string, settings: Partial<DurableSettings>, owner: string): Promise<Node> {
  const all = { ...SETTINGS, ...settings };
  const late: { engine?: BuiltEngine['engine'] } = {};
  const writer = createDurableWriter({ store, settings: all, logger: silentLogger, clean: NO_CLEANING, owner, onCancelRequested: (id) => late.engine?.cancel(id) });
  const built = await buildEngine({
    flows: [
      {
        name: 'fenced',
        transactional: true,
        components: { upstream: { adapter: 'http', base_url: upstream } },
        phases: [
          {
            id: 'first',
            component: 'upstream',
            request: { method: 'POST', path: '/block' },
            compensate: { request: { method: 'POST', path: '/undo' } },
          },
          { id: 'second', component: 'upstream', request: { method: 'POST', path: '/second' } },
        ],
      },
    ],
    egressAllow: ['127.0.0.1'],
  });
  late.engine = built.engine;
  const durable = startDurable({ writer, engine: built.engine, flows: built.catalog, settings: all, paused: () => false });
  return {
    durable,
    built,
    store,
    async close() {
      await durable.close();
      await built.engine.close();
    },
  };
}

/** Writes the execution under this node's lease, then runs it there (a sync `persistence: all` call). */
async function submit(node: Node, flowName: string, input: unknown): Promise<{ executionId: string; done: Promise<ExecutionRecord> }> {
  const flow = node.built.flows.get(flowName)!;
  const executionId = node.built.engine.newExecutionId();
  const journal = node.built.engine.newJournal(flow);
  journal.append(startedEntry(flow, executionId, input, { tenant: 'local' }));
  const created = await node.store.create({
    executionId,
    flow: flow.name,
    version: flow.version,
    flowHash: flow.hash,
    tenant: 'local',
    options: {},
    status: 'running',
    owner: node.durable.owner,
    leaseMs: SETTINGS.leaseMs,
    rows: encodeEntries(journal.entries, 0, NO_CLEANING),
  });
  if (!created.created) throw new Error('not created');
  return node.durable.runs.start({ flow, tenant: 'local', options: {}, journal, input, lease: created.lease });
}

const BACKENDS: Backend[] = ['sqlite', 'postgres'];

describe.each(BACKENDS)('fencing on %s', (backend) => {
  let db: TestDatabase;
  let upstream: CountingUpstream;
  const nodes: Node[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    upstream = await new CountingUpstream().start();
  });

  afterAll(async () => {
    upstream?.release('/block');
    for (const node of nodes) await node.close();
    await upstream?.close();
    await db?.drop();
  });

  it('(d) refuses the late write of a worker whose lease was taken over', async () => {
    // A never renews its lease (heartbeat far beyond the lease) and runs no queued work itself.
    const a = await startNode(await db.open(), upstream.url, { heartbeatMs: 3_600_000, workerConcurrency: 0 }, 'worker-a');
    nodes.push(a);
    upstream.hold('/block');
    const { executionId, done } = await submit(a, 'fenced', {});
    await waitFor("A's call to reach the upstream", () => upstream.waiting('/block') === 1);

    // B starts; once A's lease expires on the database clock, B claims the execution (epoch 2).
    const storeB = await db.open();
    const b = await startNode(storeB, upstream.url, {}, 'worker-b');
    nodes.push(b);
    await waitFor("B's call to reach the upstream", () => upstream.waiting('/block') === 2, 10_000);
    expect(upstream.count(`${executionId}:first`)).toBe(2);

    // Both calls return. A's checkpoint carries epoch 1 and is refused; A stops where it is.
    upstream.release('/block');
    const abandoned = await done;
    expect(abandoned.status).toBe('running');
    const final = await waitFor('B to finish the execution', async () => {
      const stored = await readStored(storeB, executionId);
      return stored?.record.status === 'succeeded' ? stored.record : undefined;
    });
    // A's run shows as interrupted in the journal; B's run did the work.
    expect(final.phases.map((phase) => `${phase.id}${phase.interrupted === true ? ' (interrupted)' : ''} ${phase.status}`)).toEqual([
      'first (interrupted) cancelled',
      'first succeeded',
      'second succeeded',
    ]);
    // A neither ran the next phase nor compensated: only B moved on.
    expect(upstream.count(`${executionId}:second`)).toBe(1);
    expect(upstream.calls('/undo')).toBe(0);
  }, 60_000);
});
