// The limits flowd is measured against: hand-written Fastify routes doing the same work as the benchmark flows,
// in one process.
//
//   node bench/baselines.mjs [port]        (or PORT=…; default 3100; UPSTREAM_URL default http://127.0.0.1:3001)
//
// (a) POST /echo     the JSON work of Node-RED's function node (name, count and sum of items) — the limit for pure flows
// (b) POST /call1    1 call to the upstream through one pooled keep-alive undici Pool, answers the upstream's JSON
//     POST /call3    3 sequential calls, each sending the previous answer (as Node-RED's chained http request nodes)
//     POST /fanout5  5 parallel calls with the request body, answers { a, b, c, d, e }
//     POST /cached1  /call1 behind an in-process Map keyed by body.name with a 60 s TTL (the limit for a cached phase)
//
// No logging, no schemas: the plainest route a developer would write by hand.
import Fastify from 'fastify';
import { Pool } from 'undici';
import './lib/guard.mjs';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3100);
const upstreamUrl = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:3001';

const pool = new Pool(upstreamUrl, { keepAliveTimeout: 30_000, pipelining: 1 });
const JSON_HEADERS = { 'content-type': 'application/json' };

async function callUpstream(body) {
  const res = await pool.request({ method: 'POST', path: '/echo', headers: JSON_HEADERS, body: JSON.stringify(body) });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`upstream answered ${res.statusCode}`);
  }
  return res.body.json();
}

const app = Fastify({ logger: false });

app.post('/echo', async (req) => {
  const b = req.body ?? {};
  const items = Array.isArray(b.items) ? b.items : [];
  return { ok: true, name: b.name ?? null, count: items.length, sum: items.reduce((a, x) => a + x, 0) };
});

app.post('/call1', async (req) => callUpstream(req.body));

app.post('/call3', async (req) => {
  const r1 = await callUpstream(req.body);
  const r2 = await callUpstream(r1);
  return callUpstream(r2);
});

app.post('/fanout5', async (req) => {
  const [a, b, c, d, e] = await Promise.all([
    callUpstream(req.body),
    callUpstream(req.body),
    callUpstream(req.body),
    callUpstream(req.body),
    callUpstream(req.body),
  ]);
  return { a, b, c, d, e };
});

const cache = new Map();
app.post('/cached1', async (req) => {
  const key = String(req.body?.name);
  const hit = cache.get(key);
  const now = Date.now();
  if (hit !== undefined && hit.expires > now) return hit.value;
  const value = await callUpstream(req.body);
  cache.set(key, { value, expires: now + 60_000 });
  return value;
});

app.get('/health', async () => ({ ok: true }));

await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`baselines listening on http://127.0.0.1:${port} (upstream ${upstreamUrl})\n`);

async function shutdown() {
  setTimeout(() => process.exit(0), 2000).unref();
  await app.close();
  await pool.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
