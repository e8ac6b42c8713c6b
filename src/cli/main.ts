#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { EXIT, UsageError, processIo, type CliIo } from './cli-io.js';
import { devCommand, diagramCommand, docCommand, openapiCommand, serveCommand, validateCommand } from './commands.js';
import { runCommand } from './run-command.js';
import { isEntryPoint } from '../entry-point.js';

export const USAGE = `Usage: flowd <command> [options]

Commands:
  validate [dir]                         check every flow file (default: $FLOWS_DIR or ./flows); lists every
                                         problem with file and path; exit 1 when there is any
      --secrets                          also require every \${secret:NAME} to be set (default: placeholders)
  run <flow> --input JSON|@file.json     run a flow in-process (no server) and print its execution record;
      --example NAME                     exit 0 when it succeeded, 1 when it did not, 2 when it could not start
      --timeout-ms N
      --signal name=JSON                 when it waits for signal "name", deliver this payload (repeatable, in order)
      --callback phase=JSON              when it waits for the callback of a call phase, answer it with this body:
                                         {"status":"succeeded","output":…} or {"status":"failed","error":{"message":…}}
      --advance DURATION                 then move the clock on (e.g. 3d) past a time wait or a wait's timeout
  doc <flow> [--out file] [--date D]     the flow's document (Markdown) on stdout or into a file
  doc --all --out dir [--check]          every flow's document into dir/<flow>.md (--check: fail on drift)
  diagram <flow>                         the flow's Mermaid diagram
  openapi [--out file] [--check]         write the OpenAPI document (default openapi/openapi.json)
  serve [--port N] [--host H]            start the server (configured by the environment: docs/configuration.md)
  dev [--port N] [--host H]              serve for development: reloads when a flow file changes, readable
                                         logs, executions in memory; a broken file is reported, not fatal

Common options:
  --flows dir                            the flows directory (default: $FLOWS_DIR or ./flows)
  -h, --help                             this help
`;

const OPTIONS = {
  flows: { type: 'string' },
  input: { type: 'string' },
  example: { type: 'string' },
  'timeout-ms': { type: 'string' },
  signal: { type: 'string', multiple: true },
  callback: { type: 'string', multiple: true },
  advance: { type: 'string' },
  out: { type: 'string' },
  all: { type: 'boolean' },
  check: { type: 'boolean' },
  date: { type: 'string' },
  secrets: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : (typeof OPTIONS)[K] extends { multiple: true } ? string[] : string;
};

/** One CLI command: the options it takes, how many positional arguments, and what it does. */
interface Command {
  readonly options: readonly (keyof typeof OPTIONS)[];
  readonly positionals: 0 | 1;
  run(io: CliIo, argument: string | undefined, values: Values): Promise<number>;
}

/** Every command; a new one is one more entry here and a line in USAGE. */
const COMMANDS: Record<string, Command> = {
  validate: { options: ['flows', 'secrets'], positionals: 1, run: (io, dir, v) => validateCommand(io, dir ?? v.flows, { secrets: v.secrets === true }) },
  run: {
    options: ['flows', 'input', 'example', 'timeout-ms', 'signal', 'callback', 'advance'],
    positionals: 1,
    run: (io, flow, v) => runCommand(io, flow, { flows: v.flows, input: v.input, example: v.example, timeoutMs: v['timeout-ms'], signal: v.signal, callback: v.callback, advance: v.advance }),
  },
  doc: {
    options: ['flows', 'out', 'all', 'check', 'date'],
    positionals: 1,
    run: (io, flow, v) => docCommand(io, flow, { flows: v.flows, out: v.out, all: v.all, check: v.check, date: v.date }),
  },
  diagram: { options: ['flows'], positionals: 1, run: (io, flow, v) => diagramCommand(io, flow, { flows: v.flows }) },
  openapi: { options: ['flows', 'out', 'check'], positionals: 0, run: (io, _none, v) => openapiCommand(io, { flows: v.flows, out: v.out, check: v.check }) },
  serve: { options: ['flows', 'port', 'host'], positionals: 0, run: (io, _none, v) => serveCommand(io, { flows: v.flows, host: v.host, port: v.port }) },
  dev: { options: ['flows', 'port', 'host'], positionals: 0, run: (io, _none, v) => devCommand(io, { flows: v.flows, host: v.host, port: v.port }) },
};

/** Commands that keep running (a server) instead of ending with their exit code. */
const LONG_RUNNING = new Set(['serve', 'dev']);

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
  const [name, ...rest] = positionals;
  if (values.help === true || name === undefined || name === 'help') {
    (name === undefined && values.help !== true ? io.stderr : io.stdout)(USAGE);
    return name === undefined && values.help !== true ? EXIT.usage : EXIT.ok;
  }
  try {
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    const unexpected = Object.keys(values).filter((option) => !command.options.includes(option as keyof typeof OPTIONS) && option !== 'help');
    if (unexpected.length > 0) throw new UsageError(`${name} does not take ${unexpected.map((option) => `--${option}`).join(', ')}`);
    if (rest.length > command.positionals) throw new UsageError(`${name} takes ${command.positionals === 0 ? 'no arguments' : 'one argument'}, got: ${rest.join(' ')}`);
    return await command.run(io, rest[0], values);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`flowd: ${error.message}\n(flowd --help lists the commands)\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

if (isEntryPoint(import.meta.url)) {
  const argv = process.argv.slice(2);
  const code = await runCli(argv);
  // A long-running command keeps the process alive until a signal; every other command ends with its exit code.
  if (!LONG_RUNNING.has(argv.find((arg) => !arg.startsWith('-')) ?? '') || code !== EXIT.ok) process.exitCode = code;
}
