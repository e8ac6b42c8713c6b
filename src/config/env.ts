import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import { authProblems } from '../http/auth/auth-mode.js';
import { plainZodIssues } from '../flows/zod-words.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const port = int(0, 65535);
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+\S*$/, 'must be an http(s) URL, e.g. http://127.0.0.1:4318');
/** The OTEL_TRACES_SAMPLER values flowd understands (the OpenTelemetry specification's built-in samplers). */
export const OTEL_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/**
 * Every environment variable flowd reads. Each is documented in `.env.example` and the README;
 * a test keeps the three in step.
 */
export const EnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  METRICS_HOST: z.string().min(1).optional(),
  METRICS_PORT: port.default(9464),
  FLOWS_DIR: z.string().min(1).default('./flows'),
  // Reload the flows when a file in FLOWS_DIR changes (on in `flowd dev`).
  FLOWS_WATCH: bool.default(false),
  // Fire the flows' cron schedules (docs/schedules.md); off: this replica never fires them.
  SCHEDULES: z.enum(['on', 'off']).default('on'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.enum(['auto', 'true', 'false']).default('auto'),
  BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  MAX_JSON_DEPTH: int(2, 1000).default(64),
  REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  HEADERS_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  MAX_CONNECTIONS: int(1, 1_000_000).default(1024),
  SHUTDOWN_TIMEOUT_MS: int(0, 3_600_000).default(10_000),
  EXECUTIONS_MAX: int(1, 10_000_000).default(1000),
  // Durable executions (README, Durability). Tests that want no files set STORE=memory.
  STORE: z.enum(['memory', 'sqlite', 'postgres']).default('sqlite'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().optional(),
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and underscores').default('public'),
  DATABASE_POOL_MAX: int(1, 1000).default(10),
  DATABASE_WRITE_BATCHES: int(1, 1000).default(1),
  SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
  PERSISTENCE: z.enum(['none', 'failed', 'all']).default('none'),
  LEASE_MS: int(500, 3_600_000).default(30_000),
  HEARTBEAT_MS: int(100, 3_600_000).optional(),
  WORKER_CONCURRENCY: int(0, 100_000).default(16),
  WORKER_POLL_MS: int(10, 3_600_000).default(500),
  CLAIM_BATCH: int(1, 1000).default(8),
  EXECUTION_MAX_ATTEMPTS: int(1, 1000).default(5),
  IDEMPOTENCY_TTL_MS: int(1000, 365 * 24 * 3_600_000).default(24 * 3_600_000),
  RETENTION_MS: int(0, 10 * 365 * 24 * 3_600_000).default(7 * 24 * 3_600_000),
  RETENTION_INTERVAL_MS: int(1000, 24 * 3_600_000).default(60_000),
  RETENTION_BATCH: int(1, 100_000).default(500),
  // Waits (docs/waits.md): shorter ones sleep in the run; PUBLIC_URL makes callback phases' `callback.url`.
  WAIT_INLINE_MS: int(0, 60_000).default(5000),
  // Bounds on what waits keep: signals of one name not taken yet per execution, and the bytes of one payload.
  SIGNAL_MAX_PENDING: int(1, 100_000).default(100),
  SIGNAL_MAX_BYTES: int(2, 16 * 1024 * 1024).default(64 * 1024),
  PUBLIC_URL: httpUrl.optional(),
  CALLBACK_ALLOW: z.string().default(''),
  CALLBACK_TIMEOUT_MS: int(100, 600_000).default(5000),
  EGRESS_ALLOW: z.string().default(''),
  HTTP_CONNECTIONS_PER_ORIGIN: int(1, 10_000).default(64),
  EXPRESSION_TIMEOUT_MS: int(1, 60_000).default(50),
  EXPRESSION_WORKERS: int(0, 64).default(2),
  CACHE_MAX_ENTRIES: int(1, 10_000_000).default(10_000),
  MAX_MAP_ITEMS: int(1, 1_000_000).default(10_000),
  ADAPTER_MODULES: z.string().default(''),
  API_KEYS: z.string().default(''),
  AUTH_DISABLED: bool.default(false),
  PUBLIC_PATHS: z.string().default('/health/live,/health/ready'),
  RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(600),
  MAX_INFLIGHT_EXECUTIONS: int(1, 1_000_000).default(1000),
  // Limits (README, Security): each violation is a specific problem+json, never a 500.
  MAX_JSON_WIDTH: int(1, 10_000_000).default(10_000),
  MAX_HEADER_BYTES: int(1024, 1024 * 1024).default(16 * 1024),
  MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000).default(1000),
  MAX_PHASE_OUTPUT_BYTES: int(1024, 1024 * 1024 * 1024).default(2 * 1024 * 1024),
  MAX_RECORD_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  MAX_SUBFLOW_DEPTH: int(1, 100).default(8),
  REDACT_FIELDS: z.string().default(''),
  // The execution journal (docs/ARCHITECTURE.md): what executions capture of their calls, and its bound.
  CAPTURE: z.enum(['all', 'errors', 'none']).default('all'),
  CAPTURE_MAX_BYTES: int(0, 1024 * 1024 * 1024).default(64 * 1024),
  // Async work queued at once, in all and per tenant (429/503 with Retry-After beyond).
  QUEUE_MAX: int(1, 100_000_000).default(100_000),
  QUEUE_MAX_PER_TENANT: int(1, 100_000_000).default(10_000),
  // Executions of one tenant waiting at once (a wait phase, a callback): flows that can wait are not started beyond it (429).
  WAITING_MAX_PER_TENANT: int(1, 100_000_000).default(100_000),
  // 32 random bytes, base64: encrypts the raw values kept to resume or retry executions (AES-256-GCM).
  STATE_ENCRYPTION_KEY: z.string().optional(),
  // OpenTelemetry tracing (docs/tracing.md): off unless an OTLP endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('flowd'),
  OTEL_TRACES_SAMPLER: z.enum(OTEL_SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: int(1, 1_000_000).default(2048),
  OTEL_BSP_SCHEDULE_DELAY: int(1, 3_600_000).default(5000),
});

export type EnvConfig = Readonly<z.infer<typeof EnvSchema>>;

/** Parses the environment once; lists every bad variable in one error; the result is frozen. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): EnvConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    // In plain words, like flow-file problems: `BODY_LIMIT_BYTES: must be at least 1024 (found the number 100)`.
    throw new ConfigurationError(
      plainZodIssues(parsed.error.issues, present, EnvSchema).map((issue) => ({
        file: 'environment',
        path: issue.path.join('.'),
        message: issue.message,
      })),
    );
  }
  const config = parsed.data;
  const problems: { path: string; message: string }[] = [];
  if (config.STORE === 'postgres' && config.DATABASE_URL === undefined) {
    problems.push({ path: 'DATABASE_URL', message: 'is required when STORE=postgres' });
  }
  if (config.HEARTBEAT_MS !== undefined && config.HEARTBEAT_MS * 2 > config.LEASE_MS) {
    problems.push({ path: 'HEARTBEAT_MS', message: `must be at most half of LEASE_MS (${config.LEASE_MS}) so a lease is renewed before it expires` });
  }
  if (config.OTEL_TRACES_SAMPLER_ARG !== undefined && !config.OTEL_TRACES_SAMPLER.endsWith('traceidratio')) {
    problems.push({ path: 'OTEL_TRACES_SAMPLER_ARG', message: `is a ratio for traceidratio or parentbased_traceidratio, not ${config.OTEL_TRACES_SAMPLER}; set OTEL_TRACES_SAMPLER or remove it` });
  }
  for (const { path, message } of authProblems(config)) problems.push({ path, message });
  if (problems.length > 0) throw new ConfigurationError(problems.map((p) => ({ file: 'environment', ...p })));
  return Object.freeze(config);
}

export { isLoopbackHost } from '../http/auth/auth-mode.js';
