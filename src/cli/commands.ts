import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllowList } from '../adapters/http/egress/index.js';
import { loadConfig } from '../config/env.js';
import { renderFlowDocument } from '../docs/flow-document.js';
import { ConfigurationError } from '../errors.js';
import { flowDiagram } from '../flows/diagram.js';
import { buildEngine, type CreateEngineOptions, type BuiltEngine } from '../library.js';
import { createService, type ServiceOptions } from '../service.js';
import { EXIT, UsageError, flowsDirOf, placeholderSecretsEnv, printConfigurationError, resolvePath, type CliIo } from './cli-io.js';

/** Loads the flows of a directory, or prints every problem and returns undefined. */
export async function load(io: CliIo, flowsDir: string, options: { placeholderSecrets: boolean; engine?: Pick<CreateEngineOptions, 'clock' | 'observer' | 'waitInlineMs'> }): Promise<BuiltEngine | undefined> {
  try {
    return await buildEngine({
      ...options.engine,
      flowsDir,
      env: options.placeholderSecrets ? placeholderSecretsEnv(io.env) : io.env,
      egressAllow: parseAllowList(io.env['EGRESS_ALLOW'] ?? ''),
    });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      printConfigurationError(io, error);
      return undefined;
    }
    throw error;
  }
}

export function requireFlow(built: BuiltEngine, name: string | undefined, command: string): string {
  if (name === undefined) throw new UsageError(`${command} needs a flow name (loaded: ${[...built.flows.keys()].join(', ')})`);
  if (!built.flows.has(name)) throw new UsageError(`no flow named "${name}" in the flows directory (loaded: ${[...built.flows.keys()].join(', ')})`);
  return name;
}

/** `flowd validate [dir]`: every problem of every flow, with file and path; exit 1 when there is any. */
export async function validateCommand(io: CliIo, dir: string | undefined, options: { secrets: boolean }): Promise<number> {
  const flowsDir = flowsDirOf(io, dir);
  const built = await load(io, flowsDir, { placeholderSecrets: !options.secrets });
  if (built === undefined) return EXIT.failed;
  await built.engine.close();
  const list = [...built.flows.values()].map((flow) => `${flow.name} (v${flow.version})`);
  io.stdout(`${list.length} flow${list.length === 1 ? '' : 's'} valid in ${path.relative(io.cwd, flowsDir) || '.'}: ${list.join(', ')}\n`);
  return EXIT.ok;
}

/** `flowd doc <flow>` (Markdown to stdout), or `flowd doc --all --out dir [--check]` for the committed documents. */
export async function docCommand(
  io: CliIo,
  flow: string | undefined,
  options: { flows?: string | undefined; out?: string | undefined; all?: boolean | undefined; check?: boolean | undefined; date?: string | undefined },
): Promise<number> {
  const built = await load(io, flowsDirOf(io, options.flows), { placeholderSecrets: true });
  if (built === undefined) return EXIT.failed;
  try {
    if (options.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.date)) throw new UsageError('--date must be YYYY-MM-DD');
    const render = (name: string): string => renderFlowDocument(built.flows.get(name)!, { flows: built.flows, date: options.date, secrets: built.secrets });
    if (options.all !== true) {
      const name = requireFlow(built, flow, 'doc');
      if (options.out === undefined) io.stdout(render(name));
      else await writeFile(resolvePath(io, options.out), render(name));
      return EXIT.ok;
    }
    if (flow !== undefined) throw new UsageError('give a flow name or --all, not both');
    if (options.out === undefined) throw new UsageError('doc --all needs --out <dir>');
    const outDir = resolvePath(io, options.out);
    const drifted: string[] = [];
    if (options.check !== true) await mkdir(outDir, { recursive: true });
    for (const name of [...built.flows.keys()].sort()) {
      const file = path.join(outDir, `${name}.md`);
      const text = render(name);
      if (options.check === true) {
        const current = await readFile(file, 'utf8').catch(() => undefined);
        if (current !== text) drifted.push(path.relative(io.cwd, file));
      } else {
        await writeFile(file, text);
        io.stdout(`wrote ${path.relative(io.cwd, file)}\n`);
      }
    }
    if (drifted.length > 0) {
      io.stderr(`out of date (regenerate with: npm run docs:flows): ${drifted.join(', ')}\n`);
      return EXIT.failed;
    }
    if (options.check === true) io.stdout(`${built.flows.size} flow documents are up to date\n`);
    return EXIT.ok;
  } finally {
    await built.engine.close();
  }
}

/** `flowd diagram <flow>`: the Mermaid text. */
export async function diagramCommand(io: CliIo, flow: string | undefined, options: { flows?: string | undefined }): Promise<number> {
  const built = await load(io, flowsDirOf(io, options.flows), { placeholderSecrets: true });
  if (built === undefined) return EXIT.failed;
  try {
    io.stdout(flowDiagram(built.flows.get(requireFlow(built, flow, 'diagram'))!));
    return EXIT.ok;
  } finally {
    await built.engine.close();
  }
}

/**
 * The OpenAPI document of the API serving the flows of `flowsDir`, built from a fixed
 * configuration (the environment of the caller does not change it).
 */
export async function buildOpenApiDocument(flowsDir: string): Promise<Record<string, unknown>> {
  const env = { FLOWS_DIR: flowsDir, LOG_LEVEL: 'silent', STORE: 'memory', HOST: '127.0.0.1' };
  const service = await createService(loadConfig(env), { env: placeholderSecretsEnv({}) });
  try {
    // The document as served: the routes' operations and each flow's own.
    const answer = await service.app.inject({ method: 'GET', url: '/openapi.json' });
    return answer.json<Record<string, unknown>>();
  } finally {
    await service.close();
  }
}

export function openApiText(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** `flowd openapi [--out file] [--check]`: writes (or checks) `openapi/openapi.json`. */
export async function openapiCommand(io: CliIo, options: { flows?: string | undefined; out?: string | undefined; check?: boolean | undefined }): Promise<number> {
  const out = resolvePath(io, options.out ?? 'openapi/openapi.json');
  let text: string;
  try {
    text = openApiText(await buildOpenApiDocument(flowsDirOf(io, options.flows)));
  } catch (error) {
    if (error instanceof ConfigurationError) {
      printConfigurationError(io, error);
      return EXIT.failed;
    }
    throw error;
  }
  if (options.check === true) {
    const current = await readFile(out, 'utf8').catch(() => undefined);
    if (current !== text) {
      io.stderr(`${path.relative(io.cwd, out)} is out of date (regenerate with: npm run openapi)\n`);
      return EXIT.failed;
    }
    io.stdout(`${path.relative(io.cwd, out)} is up to date\n`);
    return EXIT.ok;
  }
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, text);
  io.stdout(`wrote ${path.relative(io.cwd, out)}\n`);
  return EXIT.ok;
}

/** `flowd serve`: the server, configured by the environment; flags override FLOWS_DIR, HOST and PORT. */
export async function serveCommand(
  io: CliIo,
  options: { flows?: string | undefined; host?: string | undefined; port?: string | undefined },
  service: ServiceOptions = {},
): Promise<number> {
  if (options.flows !== undefined) process.env['FLOWS_DIR'] = resolvePath(io, options.flows);
  if (options.host !== undefined) process.env['HOST'] = options.host;
  if (options.port !== undefined) {
    if (!/^\d{1,5}$/.test(options.port)) throw new UsageError('--port must be a port number');
    process.env['PORT'] = options.port;
  }
  // The server keeps the process alive until a signal closes it.
  const { startServer } = await import('../server.js');
  await startServer(service);
  return EXIT.ok;
}

/** What `flowd dev` sets unless the environment says otherwise. */
export const DEV_DEFAULTS = { FLOWS_WATCH: 'true', LOG_PRETTY: 'true', STORE: 'memory' } as const;

/**
 * `flowd dev`: `serve` for writing flows — reloads when a flow file changes, readable logs,
 * executions in memory, and a broken flow file is reported (and waited for) instead of stopping
 * the server. Variables set in the environment win over these defaults.
 */
export async function devCommand(io: CliIo, options: { flows?: string | undefined; host?: string | undefined; port?: string | undefined }): Promise<number> {
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) process.env[name] ??= value;
  return serveCommand(io, options, { tolerateInvalidFlows: true });
}
