import path from 'node:path';
import { ConfigurationError } from '../errors.js';

/** Where a CLI command writes and what it reads: the process by default, buffers in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
};

/** Exit codes: 0 success, 1 the thing checked or run failed, 2 the command itself was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in how the command was called: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

export function resolvePath(io: CliIo, file: string): string {
  return path.resolve(io.cwd, file);
}

/** The flows directory: `--flows`, else FLOWS_DIR, else `./flows`, relative to the working directory. */
export function flowsDirOf(io: CliIo, option: string | undefined): string {
  return resolvePath(io, option ?? io.env['FLOWS_DIR'] ?? 'flows');
}

/** Every configuration issue on its own line: `file: path: message`. */
export function printConfigurationError(io: CliIo, error: ConfigurationError): void {
  for (const issue of error.issues) {
    const where = [issue.file === undefined ? undefined : path.relative(io.cwd, issue.file) || issue.file, issue.path].filter((part) => part !== undefined && part !== '').join(': ');
    io.stderr(`${where === '' ? '(root)' : where}: ${issue.message}\n`);
  }
  const files = new Set(error.issues.map((issue) => issue.file ?? ''));
  io.stderr(`${error.issues.length} problem${error.issues.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}\n`);
}

/** Secrets for commands that only inspect flows: real values when set, a placeholder otherwise. */
export function placeholderSecretsEnv(env: Readonly<Record<string, string | undefined>>): Readonly<Record<string, string | undefined>> {
  return new Proxy<Record<string, string | undefined>>({}, {
    get: (_target, name) => {
      if (typeof name !== 'string') return undefined;
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      return name.endsWith('_FILE') ? env[name] : `placeholder-${name}`;
    },
  });
}
