/**
 * Schedules on the three stores: the store contract (a row per definition, compare-and-set,
 * compare-and-delete), several replicas on one database with fake clocks firing each occurrence
 * exactly once (one stopped midway loses nothing; replicas holding different definitions, or none,
 * do not undo each other), the queue bounds (an occurrence a full queue refuses is tried again),
 * the missed-occurrence policies, and reloads that change or remove a schedule.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRows, encodeEntry } from '../../src/durable/journal-codec.js';
import { newExecutionId } from '../../src/engine/ids.js';
import { Journal } from '../../src/engine/journal/journal.js';
import { QueueAdmission } from '../../src/executions/queue-admission.js';
import { compileFlows } from '../../src/flows/compiler.js';
import type { CompiledFlow } from '../../src/flows/compiled.js';
import { createBuiltinRegistry } from '../../src/library.js';
import { Scheduler } from '../../src/schedules/scheduler.js';
import { startScheduled } from '../../src/schedules/start-scheduled.js';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { PostgresScheduleStore } from '../../src/store/schedules/postgres-schedules.js';
import { MemoryScheduleStore, type ScheduleStore } from '../../src/store/schedules/schedule-store.js';
import { SqliteScheduleStore } from '../../src/store/schedules/sqlite-schedules.js';
import { createTestDatabase, PG_URL, type Backend, type TestDatabase } from '../durable/helpers.js';
import { NO_CLEANING } from '../../src/observability/cleaner.js';

const dispatcher = new Agent();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await dispatcher.close();
});

function compile(schedules: unknown[]): CompiledFlow {
  const definition = { name: 'report', input: { type: 'object' }, phases: [{ id: 'a', component: 'transform', request: 1 }], schedules };
  return compileFlows([{ source: 'flows/report.yaml', definition }], { adapters: createBuiltinRegistry({ dispatcher }), env: {} }).get('report')!;
}

/** A schedule store on its own connection to the test database, as each replica has. */
function scheduleStore(db: TestDatabase, shared: MemoryScheduleStore): ScheduleStore {
  if (db.backend === 'memory') return shared;
  if (db.backend === 'sqlite') {
    const store = new SqliteScheduleStore(new Database(join(db.env['DATA_DIR']!, 'flowd.db')), true);
    cleanups.push(() => store.close());
    return store;
  }
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2, options: `-c search_path=${db.env['DATABASE_SCHEMA']}` });
  const store = new PostgresScheduleStore(pool, true);
  cleanups.push(() => store.close());
  return store;
}

interface Replica {
  readonly scheduler: Scheduler;
  readonly clock: { t: number; now(): number };
}

function replica(
  store: ScheduleStore,
  executions: ExecutionStore,
  flows: () => CompiledFlow[],
  startAt: number,
  graceMs?: number,
  onError: (error: unknown) => void = (error) => {
    throw error;
  },
): Replica {
  const clock = { t: startAt, now: () => clock.t };
  const engine = { newExecutionId: () => newExecutionId(clock.t), newJournal: () => new Journal(() => clock.t) };
  const admission = new QueueAdmission({ store: executions, max: 1_000_000, maxPerTenant: 1_000_000 });
  const starting = { engine, store: executions, admission, leaseMs: 30_000, idempotencyTtlMs: 24 * 3600_000, clean: NO_CLEANING, wake: () => {} };
  const scheduler = new Scheduler({
    store,
    clock,
    flows,
    ...(graceMs === undefined ? {} : { graceMs }),
    start: (flow, schedule, occurrence) => startScheduled(starting, flow, schedule, occurrence),
    onError,
  });
  return { scheduler, clock };
}

/** Occurrences (ISO) of every execution in the store, from their `execution_started` trigger. */
async function occurrences(executions: ExecutionStore): Promise<string[]> {
  const page = await executions.list({ flow: 'report', limit: 1000 });
  const found: string[] = [];
  for (const item of page.items) {
    const stored = await executions.get(item.executionId);
    const started = decodeRows(stored!.rows).find((entry) => entry.type === 'execution_started');
    expect(started).toMatchObject({ type: 'execution_started', trigger: { kind: 'schedule', schedule: 'minutely' }, input: { n: 1 } });
    found.push((started as { trigger: { occurrence: string } }).trigger.occurrence);
  }
  return found.sort();
}

const T0 = Date.parse('2026-03-01T00:00:30Z');
const MINUTE = 60_000;

/** Minute `m` after midnight of T0's day, ISO. */
function at(m: number): string {
  return new Date(Date.parse('2026-03-01T00:00:00Z') + m * MINUTE).toISOString();
}

describe.each<Backend>(['memory', 'sqlite', 'postgres'])('schedules on %s', (backend) => {
  it('store contract: a row per definition, ensure keeps the first, advance is a compare-and-set, prune a compare-and-delete', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    await db.open(); // migrates
    const store = scheduleStore(db, new MemoryScheduleStore());
    const first = await store.ensure({ flow: 'f', schedule: 's', spec: 'x|UTC', nextDue: 1000 });
    expect(first).toMatchObject({ flow: 'f', schedule: 's', spec: 'x|UTC', nextDue: 1000 });
    expect(first.lastFired).toBeUndefined();
    expect(await store.ensure({ flow: 'f', schedule: 's', spec: 'x|UTC', nextDue: 5000 })).toMatchObject({ spec: 'x|UTC', nextDue: 1000 });
    // Another definition of the same schedule has a row of its own.
    expect(await store.ensure({ flow: 'f', schedule: 's', spec: 'y|UTC', nextDue: 5000 })).toMatchObject({ spec: 'y|UTC', nextDue: 5000 });
    const cas = { flow: 'f', schedule: 's', spec: 'x|UTC', expectedDue: 1000, nextDue: 2000, fired: 1000 };
    const results = await Promise.all([store.advance(cas), store.advance(cas), store.advance(cas)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.advance({ ...cas, spec: 'y|UTC' })).toBe(false); // that row is at 5000
    expect(await store.advance({ ...cas, spec: 'z|UTC', expectedDue: 2000 })).toBe(false); // no such row
    await store.ensure({ flow: 'f', schedule: 'gone', spec: 'x|UTC', nextDue: 1 });
    await store.ensure({ flow: 'other', schedule: 's', spec: 'x|UTC', nextDue: 1 });
    expect((await store.list('f')).map((row) => [row.schedule, row.spec, row.nextDue, row.lastFired])).toEqual([
      ['gone', 'x|UTC', 1, undefined],
      ['s', 'x|UTC', 2000, 1000],
      ['s', 'y|UTC', 5000, undefined],
    ]);
    // f/s/x was read at 1000 but has moved on since: it stays.
    const read = [{ flow: 'f', schedule: 's', spec: 'x|UTC', nextDue: 1000 }, { flow: 'f', schedule: 'gone', spec: 'x|UTC', nextDue: 1 }, { flow: 'other', schedule: 's', spec: 'x|UTC', nextDue: 1 }];
    expect(await store.prune(read)).toBe(2);
    expect(await store.prune([])).toBe(0);
    expect((await store.list()).map((row) => `${row.flow}/${row.schedule}/${row.spec}`)).toEqual(['f/s/x|UTC', 'f/s/y|UTC']);
  });

  it('three replicas with fake clocks fire each occurrence exactly once; one stopped midway loses nothing', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const shared = new MemoryScheduleStore();
    const flow = compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 }, missed: 'skip' }]);
    const replicas = [0, 1, 2].map(() => replica(scheduleStore(db, shared), executions, () => [flow], T0));
    let running = replicas;
    // 20 minutes, every replica ticking concurrently every 20 s of fake time (clocks a little apart).
    for (let step = 1; step <= 60; step += 1) {
      if (step === 25) running = replicas.slice(1); // the first replica stops (restarting) for the rest
      running.forEach((each, index) => (each.clock.t = T0 + step * 20_000 + index * 150));
      await Promise.all(running.map((each) => each.scheduler.tick()));
    }
    const expected = Array.from({ length: 20 }, (_, i) => new Date(Date.parse('2026-03-01T00:01:00Z') + i * MINUTE).toISOString());
    expect(await occurrences(executions)).toEqual(expected);
  });

  it('a replica that dies between starting an occurrence and recording it leaves it to another, which does not run it twice', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const shared = new MemoryScheduleStore();
    const flow = compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 } }]);
    const healthy = scheduleStore(db, shared);
    const dying: ScheduleStore = Object.assign(Object.create(healthy) as ScheduleStore, {
      list: (f?: string) => healthy.list(f),
      ensure: (row: Parameters<ScheduleStore['ensure']>[0]) => healthy.ensure(row),
      advance: async () => {
        throw new Error('killed before recording the occurrence');
      },
    });
    const errors: unknown[] = [];
    const a = replica(dying, executions, () => [flow], T0, undefined, (error) => errors.push(error));
    const b = replica(healthy, executions, () => [flow], T0);
    await a.scheduler.tick();
    a.clock.t = Date.parse('2026-03-01T00:01:05Z');
    expect(await a.scheduler.tick()).toBe(0);
    expect(errors).toHaveLength(1);
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:01:00.000Z']); // started, not recorded
    b.clock.t = Date.parse('2026-03-01T00:01:20Z');
    await b.scheduler.tick();
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:01:00.000Z']);
    expect(await healthy.list('report')).toMatchObject([{ schedule: 'minutely', nextDue: Date.parse('2026-03-01T00:02:00Z'), lastFired: Date.parse('2026-03-01T00:01:00Z') }]);
  });

  it('two replicas holding different definitions each fire their own occurrences exactly once and do not undo each other', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const shared = new MemoryScheduleStore();
    // A rolling deploy that changes the cron: one replica has the old definition, one the new.
    const old = compile([{ name: 'minutely', cron: '*/2 * * * *', input: { n: 1 } }]);
    const changed = compile([{ name: 'minutely', cron: '*/3 * * * *', input: { n: 1 } }]);
    const store = scheduleStore(db, shared);
    const a = replica(store, executions, () => [old], T0);
    const b = replica(scheduleStore(db, shared), executions, () => [changed], T0);
    for (let step = 1; step <= 36; step += 1) {
      // One after the other, as replicas ticking at different moments of each second do.
      a.clock.t = T0 + step * 20_000;
      await a.scheduler.tick();
      b.clock.t = T0 + step * 20_000 + 150;
      await b.scheduler.tick();
    }
    // Up to 00:12:30: each definition's occurrences; 00:06 and 00:12, which both have, once.
    expect(await occurrences(executions)).toEqual([2, 3, 4, 6, 8, 9, 10, 12].map(at));
    expect((await store.list('report')).map((row) => [row.spec, row.nextDue, row.lastFired])).toEqual([
      ['*/2 * * * *|UTC', Date.parse(at(14)), Date.parse(at(12))],
      ['*/3 * * * *|UTC', Date.parse(at(15)), Date.parse(at(12))],
    ]);
  });

  it('a replica without the schedule does not delete a row another fires; an orphaned row is deleted once lapsed', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const shared = new MemoryScheduleStore();
    const flow = compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 } }]);
    let others = [compile([])]; // this replica's copy of the flow has no schedule
    const store = scheduleStore(db, shared);
    const a = replica(store, executions, () => [flow], T0);
    const c = replica(scheduleStore(db, shared), executions, () => others, T0);
    for (let step = 1; step <= 30; step += 1) {
      a.clock.t = T0 + step * 20_000;
      c.clock.t = T0 + step * 20_000 + 150;
      await Promise.all([a.scheduler.tick(), c.scheduler.tick()]);
    }
    const fired = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(at);
    expect(await occurrences(executions)).toEqual(fired);
    // The replica holding the schedule stops for good, and the other no longer has the flow at
    // all: the row, due at 00:11, goes once it is overdue by more than the grace (60 s).
    others = [];
    c.clock.t = Date.parse(at(12));
    await c.scheduler.tick();
    expect(await store.list()).toMatchObject([{ flow: 'report', schedule: 'minutely', nextDue: Date.parse(at(11)) }]);
    c.clock.t = Date.parse(at(12)) + 1;
    await c.scheduler.tick();
    expect(await store.list()).toEqual([]);
    expect(await occurrences(executions)).toEqual(fired);
  });

  it('a full queue refuses an occurrence (nothing written, counted); the next tick with room starts it', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const store = scheduleStore(db, new MemoryScheduleStore());
    const flow = compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 }, missed: 'skip' }]);
    const clock = { t: T0, now: () => clock.t };
    const refusals: unknown[] = [];
    const admission = new QueueAdmission({ store: executions, max: 10, maxPerTenant: 1, now: () => clock.t, onRefused: (refusal) => refusals.push(refusal) });
    const engine = { newExecutionId: () => newExecutionId(clock.t), newJournal: () => new Journal(() => clock.t) };
    const starting = { engine, store: executions, admission, leaseMs: 30_000, idempotencyTtlMs: 24 * 3600_000, clean: NO_CLEANING, wake: () => {} };
    const errors: unknown[] = [];
    const scheduler = new Scheduler({ store, clock, flows: () => [flow], start: (f, schedule, occurrence) => startScheduled(starting, f, schedule, occurrence), onError: (error) => errors.push(error) });
    // The local tenant's one place is taken (an earlier occurrence, still queued).
    const filler = await startScheduled(starting, flow, flow.schedules[0]!, Date.parse('2026-03-01T00:00:00Z'));
    await scheduler.tick(); // registers: next due 00:01
    clock.t = Date.parse('2026-03-01T00:01:05Z');
    expect(await scheduler.tick()).toBe(0);
    expect(errors).toMatchObject([{ code: 'FLOWD_ERR_QUEUE_FULL' }]);
    expect(refusals).toEqual([{ source: 'schedule', bound: 'tenant' }]);
    expect(await executions.countQueued()).toBe(1);
    expect(await store.list('report')).toMatchObject([{ nextDue: Date.parse('2026-03-01T00:01:00Z') }]); // still due
    // Room again (the filler is cancelled): the same occurrence starts, within the grace period.
    const cancelled = encodeEntry({ type: 'execution_finished', status: 'cancelled', error: { code: 'FLOWD_ERR_CANCELLED', message: 'test' }, at: clock.t, t: 0 }, 1, NO_CLEANING);
    expect(await executions.cancel(filler.executionId, [cancelled], { status: 'cancelled', errorCode: 'FLOWD_ERR_CANCELLED' })).toBe('cancelled');
    clock.t = Date.parse('2026-03-01T00:01:20Z');
    expect(await scheduler.tick()).toBe(1);
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-01T00:01:00.000Z']);
    expect(await executions.countQueued()).toBe(1);
  });

  it('missed occurrences: skip drops them, run_once runs the newest once; a changed or removed definition\'s row goes once lapsed', async () => {
    const db = await createTestDatabase(backend);
    cleanups.push(() => db.drop());
    const executions = await db.open();
    const store = scheduleStore(db, new MemoryScheduleStore());
    let flows = [compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 }, missed: 'skip' }])];
    const one = replica(store, executions, () => flows, T0, 10_000); // later than 10 s: missed
    await one.scheduler.tick(); // registers: next due 00:01
    one.clock.t = T0 + 10 * MINUTE; // everything was down for ten minutes
    expect(await one.scheduler.tick()).toBe(0);
    expect(await occurrences(executions)).toEqual([]);
    one.clock.t = Date.parse('2026-03-01T00:11:01Z'); // on time again
    expect(await one.scheduler.tick()).toBe(1);
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:11:00.000Z']);

    flows = [compile([{ name: 'minutely', cron: '* * * * *', input: { n: 1 }, missed: 'run_once' }])];
    one.clock.t = Date.parse('2026-03-01T00:20:30Z'); // nine occurrences missed
    expect(await one.scheduler.tick()).toBe(1);
    expect(await one.scheduler.tick()).toBe(0);
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:11:00.000Z', '2026-03-01T00:20:00.000Z']);
    expect(await one.scheduler.view(flows[0]!)).toEqual([
      { name: 'minutely', cron: '* * * * *', timezone: 'UTC', missed: 'run_once', input: { n: 1 }, nextOccurrence: '2026-03-01T00:21:00.000Z', lastFired: '2026-03-01T00:20:00.000Z' },
    ]);

    // A changed cron has a row of its own from its next occurrence (nothing fires for the
    // change); the old definition's row goes once overdue by more than the grace (10 s).
    flows = [compile([{ name: 'minutely', cron: '*/5 * * * *', input: { n: 1 }, missed: 'run_once' }])];
    one.clock.t = Date.parse('2026-03-01T00:20:40Z');
    expect(await one.scheduler.tick()).toBe(0);
    const rows = async (): Promise<unknown[]> => (await store.list('report')).map((row) => [row.spec, new Date(row.nextDue).toISOString()]);
    expect(await rows()).toEqual([['* * * * *|UTC', at(21)], ['*/5 * * * *|UTC', at(25)]]);
    one.clock.t = Date.parse('2026-03-01T00:21:11Z');
    expect(await one.scheduler.tick()).toBe(0);
    expect(await rows()).toEqual([['*/5 * * * *|UTC', at(25)]]);

    // A reload removing the schedule: its row lapses the same way.
    flows = [compile([])];
    await one.scheduler.tick();
    expect(await rows()).toEqual([['*/5 * * * *|UTC', at(25)]]);
    one.clock.t = Date.parse('2026-03-01T00:25:11Z');
    await one.scheduler.tick();
    expect(await store.list('report')).toEqual([]);
    expect(await occurrences(executions)).toEqual(['2026-03-01T00:11:00.000Z', '2026-03-01T00:20:00.000Z']);
  });
});
