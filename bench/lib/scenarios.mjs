// The benchmark's scenarios, in the order they run within a round (comparable ones next to each other in time): the
// hand-written limits, flowd's equivalent flows (each with and without `Prefer: return=minimal`), Node-RED, the durable
// stores and two replicas; and the selection by --only / --before.

const BODY = { name: 'bench', items: [1, 2, 3, 4, 5] };
export const RAW_BODY = JSON.stringify(BODY);
const ENVELOPE = JSON.stringify({ input: BODY });
export const JSON_HEADERS = { 'content-type': 'application/json' };
const MINIMAL_HEADERS = { 'content-type': 'application/json', prefer: 'return=minimal' };

function flowdPair(base) {
  // Each flowd scenario twice: the default response (the execution record) and `Prefer: return=minimal` (flow output
  // only, the same body as the limit). The minimal one is measured only if the server honours the header.
  return [
    { ...base, variant: 'record', headers: JSON_HEADERS },
    {
      ...base,
      id: `${base.id}-min`,
      variant: 'minimal',
      headers: MINIMAL_HEADERS,
      what: `${base.what}, Prefer: return=minimal`,
      description: `${base.id} with the header \`Prefer: return=minimal\` (the response is only the flow output).`,
      fasterThan: base.fasterThan ? `${base.fasterThan}-min` : undefined,
    },
  ];
}

export const SCENARIOS = [
  { id: 'limit-echo', group: 'limit', server: 'baselines', path: '/echo', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0,
    what: '(a) bare Fastify, JSON work',
    description: '(a) Bare Fastify `POST /echo` computing `{ok, name, count, sum}` from the body, as Node-RED\'s function node does — the limit for pure flows.' },
  ...flowdPair({ id: 'flowd-transform3', group: 'flowd', server: 'flowd', path: '/flows/bench-transform3/execute', body: ENVELOPE, expectCalls: 0,
    family: 'transform3', limit: 'limit-echo', peer: 'nodered-echo', minOfLimit: 0.75,
    what: '(c) flowd 3-phase transform',
    description: '(c) flowd `bench-transform3`: the same JSON work in 3 `transform` phases (count, sum, shape) + the flow `output`.' }),
  { id: 'nodered-echo', group: 'nodered', server: 'nodered', path: '/echo', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0, limit: 'limit-echo',
    what: '(d) Node-RED function flow',
    description: '(d) Node-RED 4.1 `POST /echo`: http in → function → http response (reference flows.json).' },

  { id: 'limit-call1', group: 'limit', server: 'baselines', path: '/call1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 1,
    what: '(b) Fastify + 1 undici call',
    description: '(b) Fastify `POST /call1`: one call to the upstream through a pooled keep-alive undici `Pool`, answering its JSON.' },
  ...flowdPair({ id: 'flowd-call1', group: 'flowd', server: 'flowd', path: '/flows/bench-call1/execute', body: ENVELOPE, expectCalls: 1,
    family: 'call1', limit: 'limit-call1', peer: 'nodered-flow1', minOfLimit: 0.9,
    what: '(c) flowd 1 http call',
    description: '(c) flowd `bench-call1`: one `http` phase to the upstream.' }),
  { id: 'nodered-flow1', group: 'nodered', server: 'nodered', path: '/flow1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 1, limit: 'limit-call1',
    what: '(d) Node-RED 1 call',
    description: '(d) Node-RED `POST /flow1`: http in → http request (keep-alive) → http response.' },

  { id: 'limit-call3', group: 'limit', server: 'baselines', path: '/call3', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 3,
    what: '(b) Fastify + 3 sequential calls',
    description: '(b) Fastify `POST /call3`: 3 sequential upstream calls, each sending the previous answer.' },
  ...flowdPair({ id: 'flowd-call3', group: 'flowd', server: 'flowd', path: '/flows/bench-call3/execute', body: ENVELOPE, expectCalls: 3,
    family: 'call3', limit: 'limit-call3', peer: 'nodered-flow3', minOfLimit: 0.9,
    what: '(c) flowd 3 sequential calls',
    description: '(c) flowd `bench-call3`: 3 sequential `http` phases, each sending the previous output.' }),
  { id: 'nodered-flow3', group: 'nodered', server: 'nodered', path: '/flow3', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 3, limit: 'limit-call3',
    what: '(d) Node-RED 3 calls',
    description: '(d) Node-RED `POST /flow3`: three chained http request nodes.' },

  { id: 'limit-fanout5', group: 'limit', server: 'baselines', path: '/fanout5', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 5,
    what: '(b) Fastify + 5 parallel calls',
    description: '(b) Fastify `POST /fanout5`: 5 upstream calls with `Promise.all`, answering `{a…e}`.' },
  ...flowdPair({ id: 'flowd-fanout5', group: 'flowd', server: 'flowd', path: '/flows/bench-fanout5/execute', body: ENVELOPE, expectCalls: 5,
    family: 'fanout5', limit: 'limit-fanout5',
    what: '(c) flowd parallel fan-out of 5',
    description: '(c) flowd `bench-fanout5`: a `parallel` phase of 5 branches, one `http` call each.' }),

  { id: 'limit-cached1', group: 'limit', server: 'baselines', path: '/cached1', body: RAW_BODY, headers: JSON_HEADERS, expectCalls: 0, cached: true,
    what: '(b) Fastify + in-process cache',
    description: '(b) Fastify `POST /cached1`: `/call1` behind a `Map` keyed by `name` with a 60 s TTL (every request after the first is a hit).' },
  ...flowdPair({ id: 'flowd-call1-cached', group: 'flowd', server: 'flowd', path: '/flows/bench-call1-cached/execute', body: ENVELOPE, expectCalls: 0, cached: true,
    family: 'call1-cached', limit: 'limit-cached1', fasterThan: 'flowd-call1',
    what: '(c) flowd 1 call, phase cached',
    description: '(c) flowd `bench-call1-cached`: `bench-call1` with `cache: { ttl_ms: 60000, key: input.name }` on its phase — compared with the uncached `flowd-call1`.' }),

  { id: 'flowd-sqlite-transform3', group: 'persistence', server: 'flowd-sqlite', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-transform3', store: 'SQLite', minOfCompare: 0.8,
    what: '(e) flowd 3-phase transform, SQLite, PERSISTENCE=all',
    description: '(e) `bench-transform3` on a flowd started with `STORE=sqlite DATA_DIR=<tmp> PERSISTENCE=all`.' },
  { id: 'flowd-postgres-transform3', group: 'persistence', server: 'flowd-postgres', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-transform3', store: 'PostgreSQL', minOfCompare: 0.5, pg: true,
    what: '(e) flowd 3-phase transform, PostgreSQL, PERSISTENCE=all',
    description: '(e) `bench-transform3` on a flowd started with `STORE=postgres DATABASE_URL=… PERSISTENCE=all` (needs PostgreSQL on 127.0.0.1:5432).' },
  { id: 'flowd-postgres-x2-transform3', group: 'replicas', server: 'flowd-postgres-x2', path: '/flows/bench-transform3/execute', body: ENVELOPE, headers: JSON_HEADERS, expectCalls: 0,
    limit: 'limit-echo', compare: 'flowd-postgres-transform3', pg: true,
    what: '(f) two flowd replicas on one PostgreSQL, PERSISTENCE=all',
    description: '(f) `bench-transform3` on two flowd processes sharing one PostgreSQL schema (`STORE=postgres PERSISTENCE=all`), each pinned to its own core with `taskset` when available; the connections are split evenly across them and the figures are the aggregate (req/s summed, latencies merged, CPU summed) — compared with one replica (`flowd-postgres-transform3`).' },
];

export function selectScenarios(only) {
  if (!only) return SCENARIOS;
  const matchers = only.map((tok) => {
    if (tok.includes('*')) {
      const re = new RegExp(`^${tok.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      return (sc) => re.test(sc.id);
    }
    return (sc) => sc.id === tok || sc.group === tok;
  });
  const picked = SCENARIOS.filter((sc) => matchers.some((m) => m(sc)));
  // A 'replicas' run compares with one replica: measure that too.
  if (picked.some((sc) => sc.group === 'replicas') && !picked.some((sc) => sc.id === 'flowd-postgres-transform3'))
    picked.splice(picked.findIndex((sc) => sc.group === 'replicas'), 0, SCENARIOS.find((sc) => sc.id === 'flowd-postgres-transform3'));
  const unknown = only.filter((tok) => !SCENARIOS.some((sc) => matchers[only.indexOf(tok)](sc)));
  if (unknown.length) throw new Error(`--only: no scenario matches ${unknown.join(', ')}; ids: ${SCENARIOS.map((s) => s.id).join(', ')}; groups: limit, flowd, nodered, persistence, replicas`);
  return picked;
}

/**
 * With --before: each flowd scenario's twin on the other build (`<id>@before`, on `<server>@before`), right after it,
 * so both are measured close in time.
 */
export function withBefore(selected, beforeDist) {
  return selected.flatMap((sc) =>
    sc.server.startsWith('flowd')
      ? [sc, { ...sc, id: `${sc.id}@before`, server: `${sc.server}@before`, group: 'before', beforeOf: sc.id, family: undefined, peer: undefined, fasterThan: undefined, compare: undefined, minOfCompare: undefined, what: `${sc.what} — before`, description: `${sc.id} on the build in ${beforeDist}.` }]
      : [sc],
  );
}
