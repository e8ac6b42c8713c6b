/**
 * flowd's structure rules, checked by test/architecture/dependencies.test.ts (dependency-cruiser).
 * Each rule says why it exists; docs/ARCHITECTURE.md draws the layers.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules form a DAG: a cycle makes load order matter and hides which module owns a concept.',
      from: { path: '^src' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-type-cycles',
      severity: 'error',
      comment: 'Not even through type imports: a type cycle is a design cycle.',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'engine-knows-no-web-metrics-or-http-client',
      severity: 'error',
      comment: 'The engine runs flows; HTTP, metrics and the HTTP client subscribe to it or plug into it (adapters).',
      from: { path: '^src/engine/' },
      to: { path: ['node_modules/(fastify|@fastify|prom-client|undici|pino|@opentelemetry)/', '^src/(http|observability|store|durable|executions|console|cli|adapters/http)/'] },
    },
    {
      name: 'flows-know-no-http',
      severity: 'error',
      comment: 'Loading and compiling flow files is pure: no web framework, no HTTP client, no stores.',
      from: { path: '^src/flows/' },
      to: { path: ['node_modules/(fastify|@fastify|undici)/', '^src/(http|store|durable|executions|console)/'] },
    },
    {
      name: 'stores-know-no-engine-internals',
      severity: 'error',
      comment: 'Stores keep journal rows and queue state; they may name statuses (engine/record.ts) but never run or read engine internals.',
      from: { path: '^src/store/' },
      to: { path: '^src/(engine/(?!record\\.ts)|durable|executions|http|flows)' },
    },
    {
      name: 'durable-knows-no-http',
      severity: 'error',
      comment: 'The durable layer (leases, queue, writer) is used by the HTTP layer, never the other way round.',
      from: { path: '^src/(durable|executions)/' },
      to: { path: ['node_modules/(fastify|@fastify)/', '^src/(http|console)/'] },
    },
    {
      name: 'only-tracing-knows-opentelemetry',
      severity: 'error',
      comment: 'Spans are a view of the journal (observability/tracing); nothing else, the engine least of all, imports OpenTelemetry.',
      from: { path: '^src/', pathNot: '^src/(observability/tracing/|server\\.ts$|service\\.ts$)' },
      to: { path: 'node_modules/@opentelemetry/' },
    },
    {
      name: 'only-the-service-wires',
      severity: 'error',
      comment: 'Nothing but the process entry, the CLI and the test kit depends on the wiring module.',
      from: { pathNot: '^src/(server|cli/|index)' },
      to: { path: '^src/service\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
