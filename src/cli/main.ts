#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, processIo, type CliIo } from './cli-io.js';
import { diagramCommand, docCommand, openapiCommand, runCommand, serveCommand, validateCommand } from './commands.js';

export const USAGE = `Usage: flowd <command> [options]

Commands:
  validate [dir]                         check every flow file (default: $FLOWS_DIR or ./flows); lists every
                                         problem with file and path; exit 1 when there is any
      --secrets                          also require every \${secret:NAME} to be set (default: placeholders)
  run <flow> --input JSON|@file.json     run a flow in-process (no server) and print its execution record;
      --example NAME                     exit 0 when it succeeded, 1 when it did not, 2 when it could not start
      --timeout-ms N
  doc <flow> [--out file] [--date D]     the flow's document (Markdown) on stdout or into a file
  doc --all --out dir [--check]          every flow's document into dir/<flow>.md (--check: fail on drift)
  diagram <flow>                         the flow's Mermaid diagram
  openapi [--out file] [--check]         write the OpenAPI document (default openapi/openapi.json)
  serve [--port N] [--host H]            start the server (configured by the environment, see README)

Common options:
  --flows dir                            the flows directory (default: $FLOWS_DIR or ./flows)
  -h, --help                             this help
`;

const OPTIONS = {
  flows: { type: 'string' },
  input: { type: 'string' },
  example: { type: 'string' },
  'timeout-ms': { type: 'string' },
  out: { type: 'string' },
  all: { type: 'boolean' },
  check: { type: 'boolean' },
  date: { type: 'string' },
  secrets: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Which options each command accepts (anything else is a usage error). */
const ACCEPTS: Record<string, readonly (keyof typeof OPTIONS)[]> = {
  validate: ['flows', 'secrets'],
  run: ['flows', 'input', 'example', 'timeout-ms'],
  doc: ['flows', 'out', 'all', 'check', 'date'],
  diagram: ['flows'],
  openapi: ['flows', 'out', 'check'],
  serve: ['flows', 'port', 'host'],
};

/** Runs one CLI invocation; returns the exit code (never calls process.exit). */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`flowd: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    (command === undefined && values.help !== true ? io.stderr : io.stdout)(USAGE);
    return command === undefined && values.help !== true ? EXIT.usage : EXIT.ok;
  }
  try {
    const accepted = ACCEPTS[command];
    if (accepted === undefined) throw new UsageError(`unknown command "${command}"`);
    const unexpected = Object.keys(values).filter((name) => !accepted.includes(name as keyof typeof OPTIONS) && name !== 'help');
    if (unexpected.length > 0) throw new UsageError(`${command} does not take ${unexpected.map((name) => `--${name}`).join(', ')}`);
    const maxPositionals = command === 'openapi' || command === 'serve' ? 0 : 1;
    if (rest.length > maxPositionals) throw new UsageError(`${command} takes ${maxPositionals === 0 ? 'no arguments' : 'one argument'}, got: ${rest.join(' ')}`);
    const [argument] = rest;
    switch (command) {
      case 'validate':
        return await validateCommand(io, argument ?? values.flows, { secrets: values.secrets === true });
      case 'run':
        return await runCommand(io, argument, { flows: values.flows, input: values.input, example: values.example, timeoutMs: values['timeout-ms'] });
      case 'doc':
        return await docCommand(io, argument, { flows: values.flows, out: values.out, all: values.all, check: values.check, date: values.date });
      case 'diagram':
        return await diagramCommand(io, argument, { flows: values.flows });
      case 'openapi':
        return await openapiCommand(io, { flows: values.flows, out: values.out, check: values.check });
      default:
        return await serveCommand(io, { flows: values.flows, host: values.host, port: values.port });
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`flowd: ${error.message}\n(flowd --help lists the commands)\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const argv = process.argv.slice(2);
  const code = await runCli(argv);
  // `serve` keeps running until a signal; every other command ends with its exit code.
  if (argv.find((arg) => !arg.startsWith('-')) !== 'serve' || code !== EXIT.ok) process.exitCode = code;
}
