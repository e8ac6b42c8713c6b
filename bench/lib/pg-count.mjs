// The PostgreSQL counting pass: what reaches the database per durable execution, counted on the wire.
import { JSON_HEADERS } from './scenarios.mjs';
import { runLoad } from './load.mjs';
import { connectPg, PgWireCounter, settledStats } from './pg.mjs';
import { sleep, stopProcess } from './proc.mjs';

/**
 * Counts what reaches PostgreSQL per durable execution: a separate flowd (its own schema) behind a wire counter runs
 * the scenario's request `sequential` (1 connection) and then `concurrent` (the run's connections) times; statements,
 * round trips and transactions come from the wire, inserted / updated rows from pg_stat_user_tables of the schema.
 */
export async function pgCountPass({ flowsDir, serverJs, build, tag, path: urlPath, body }, { startFlowd, pgUrl, pgSchema, pgSchemas, config, log }) {
  const target = new URL(pgUrl);
  const counter = await new PgWireCounter({ host: target.hostname, port: Number(target.port || 5432) }).start();
  const viaCounter = new URL(pgUrl);
  viaCounter.hostname = '127.0.0.1';
  viaCounter.port = String(counter.port);
  const schema = `${pgSchema}_${tag}c`;
  pgSchemas.add(schema);
  const out = [];
  let srv = null;
  let client = null;
  try {
    srv = await startFlowd(`pg-count-${tag}`, { flowsDir, serverJs, extraEnv: { STORE: 'postgres', DATABASE_URL: viaCounter.href, DATABASE_SCHEMA: schema, PERSISTENCE: 'all' } });
    if (!srv.ok) return [{ build, load: '—', error: `flowd did not start: ${shortText(srv.reason)}` }];
    client = await connectPg(pgUrl);
    const url = `http://127.0.0.1:${srv.port}${urlPath}`;
    const loads = [
      { load: 'sequential', connections: 1, amount: config.quick ? 300 : 500 },
      { load: `concurrent (${config.connections} connections)`, connections: config.connections, amount: config.quick ? 2000 : 10_000 },
    ];
    let stats0 = await settledStats(client, schema);
    for (const l of loads) {
      log(`pg count (${build}): ${l.amount} executions, ${l.load}`);
      counter.reset();
      const m = await runLoad({ url, method: 'POST', headers: JSON_HEADERS, body, connections: l.connections, amount: l.amount, collectLatencies: false });
      await sleep(300);
      const wire = { ...counter.counts };
      const stats1 = await settledStats(client, schema);
      out.push({ build, load: l.load, executions: m.ok2xx, failed: m.responses - m.ok2xx, ...wire, inserted: stats1.inserted - stats0.inserted, updated: stats1.updated - stats0.updated, commitsDatabaseWide: stats1.commits - stats0.commits });
      stats0 = stats1;
    }
  } catch (err) {
    out.push({ build, load: '—', error: shortText(err?.message ?? String(err)) });
  } finally {
    await client?.end().catch(() => {});
    if (srv?.proc) await stopProcess(srv.proc);
    await counter.stop();
  }
  return out;
}

function shortText(t) {
  const s = String(t).replace(/\s+/g, ' ');
  return s.length > 200 ? `${s.slice(0, 197)}…` : s;
}
