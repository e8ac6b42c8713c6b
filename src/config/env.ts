import { z } from 'zod';
import { ConfigurationError } from '../errors.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const port = int(0, 65535);

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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: z.enum(['auto', 'true', 'false']).default('auto'),
  BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  MAX_JSON_DEPTH: int(2, 1000).default(64),
  REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  SHUTDOWN_TIMEOUT_MS: int(0, 3_600_000).default(10_000),
  EXECUTIONS_MAX: int(1, 10_000_000).default(1000),
  STORE: z.enum(['memory', 'sqlite', 'postgres']).default('memory'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().optional(),
  PERSISTENCE: z.enum(['none', 'failed', 'all']).default('none'),
  EGRESS_ALLOW: z.string().default(''),
  HTTP_CONNECTIONS_PER_ORIGIN: int(1, 10_000).default(64),
  EXPRESSION_TIMEOUT_MS: int(1, 60_000).default(50),
  CACHE_MAX_ENTRIES: int(1, 10_000_000).default(10_000),
  MAX_MAP_ITEMS: int(1, 1_000_000).default(10_000),
  ADAPTER_MODULES: z.string().default(''),
  API_KEYS: z.string().default(''),
  AUTH_DISABLED: bool.default(false),
  PUBLIC_PATHS: z.string().default('/health/live,/health/ready,/docs,/openapi.json'),
  RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(600),
  MAX_INFLIGHT_EXECUTIONS: int(1, 1_000_000).default(1000),
});

export type EnvConfig = Readonly<z.infer<typeof EnvSchema>>;

/** Parses the environment once; lists every bad variable in one error; the result is frozen. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): EnvConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigurationError(
      parsed.error.issues.map((issue) => ({
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
  if (problems.length > 0) throw new ConfigurationError(problems.map((p) => ({ file: 'environment', ...p })));
  return Object.freeze(config);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
