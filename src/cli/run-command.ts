import { readFile } from 'node:fs/promises';
import type { ExecutionRecord } from '../engine/record.js';
import { FlowdError } from '../errors.js';
import { checkSignal } from '../flows/signal-check.js';
import type { BuiltEngine } from '../library.js';
import { durationMs } from '../flows/wait-schema.js';
import { KitWaits } from '../testing/kit-waits.js';
import { EXIT, UsageError, flowsDirOf, resolvePath, type CliIo } from './cli-io.js';
import { load, requireFlow } from './commands.js';

export interface RunCommandOptions {
  readonly flows?: string | undefined;
  readonly input?: string | undefined;
  readonly example?: string | undefined;
  readonly timeoutMs?: string | undefined;
  /** `name=JSON`: delivered, in order, each time the execution waits for a signal. */
  readonly signal?: readonly string[] | undefined;
  /** A duration (`3d`, `90s`, ms): the clock moves on this much once the signals are delivered. */
  readonly advance?: string | undefined;
}

/**
 * `flowd run <flow> --input JSON|@file [--signal name=JSON]… [--advance 3d]`: in-process, prints the
 * record; exit 0 only when the flow succeeded. A flow that waits stops at its wait (as a durable
 * service would): `--signal` answers it, `--advance` moves the clock past a time wait or a timeout.
 */
export async function runCommand(io: CliIo, flow: string | undefined, options: RunCommandOptions): Promise<number> {
  const waits = new KitWaits();
  const observer = {
    suspend: waits.suspend.bind(waits),
    takeSignal: waits.takeSignal.bind(waits),
    registerCallback: waits.registerCallback.bind(waits),
  };
  const built = await load(io, flowsDirOf(io, options.flows), { placeholderSecrets: false, engine: { clock: waits.clock, observer } });
  if (built === undefined) return EXIT.usage;
  try {
    const name = requireFlow(built, flow, 'run');
    const input = await readInput(io, built, name, options);
    const timeoutMs = options.timeoutMs === undefined ? undefined : Number(options.timeoutMs);
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) throw new UsageError('--timeout-ms must be a positive integer');
    const signals = (options.signal ?? []).map(parseSignal);
    const advanceMs = parseAdvance(options.advance);
    let record: ExecutionRecord;
    try {
      record = await built.engine.execute(name, input, { timeoutMs });
      const resume = (): Promise<ExecutionRecord> => {
        const journal = waits.resume(record.executionId);
        const compiled = built.flows.get(name)!;
        return built.engine.start(compiled, journal.started.input, { journal: built.engine.newJournal(compiled, journal.entries), timeoutMs }).done;
      };
      for (const signal of signals) {
        if (record.status !== 'waiting') throw new UsageError(`--signal ${signal.name}: the execution is ${record.status}, it waits for nothing`);
        checkSignal(built.flows.get(name)!, signal.name, signal.payload);
        waits.deliver(record.executionId, signal.name, signal.payload);
        record = await resume();
      }
      if (advanceMs !== undefined && record.status === 'waiting' && waits.advance(advanceMs).includes(record.executionId)) record = await resume();
    } catch (error) {
      if (error instanceof FlowdError) {
        io.stderr(`${error.code}: ${error.message}\n`);
        return EXIT.usage;
      }
      throw error;
    }
    io.stdout(`${JSON.stringify(built.secrets.mask(record), null, 2)}\n`);
    if (record.status === 'waiting') {
      const wait = record.waiting!;
      io.stderr(`${name} waiting at phase ${wait.phase} for ${wait.for === 'signal' ? `signal "${wait.signal}" (give --signal ${wait.signal}=JSON)` : wait.for} until ${wait.until} (--advance moves the clock)\n`);
    } else if (record.status !== 'succeeded') {
      const where = record.error?.phase === undefined ? '' : ` in phase ${record.error.phase}`;
      io.stderr(`${name} ${record.status}${record.recovered ? ' (recovered by its recovery flow)' : ''}${where}: ${record.error?.code ?? ''} ${record.error?.message ?? ''}\n`);
    }
    return record.status === 'succeeded' ? EXIT.ok : EXIT.failed;
  } finally {
    await built.engine.close();
  }
}

function parseSignal(text: string): { name: string; payload: unknown } {
  const at = text.indexOf('=');
  if (at < 1) throw new UsageError(`--signal must be name=JSON (e.g. --signal decision='{"approved":true}'), found "${text}"`);
  try {
    return { name: text.slice(0, at), payload: JSON.parse(text.slice(at + 1)) as unknown };
  } catch (error) {
    throw new UsageError(`--signal ${text.slice(0, at)}: the payload is not valid JSON: ${(error as Error).message}`);
  }
}

function parseAdvance(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^\d+\s*(ms|s|m|h|d)$/.test(text)) throw new UsageError(`--advance must be a duration such as 90s, 15m, 36h, 3d (or ms), found "${text}"`);
  return durationMs(text);
}

async function readInput(io: CliIo, built: BuiltEngine, name: string, options: { input?: string | undefined; example?: string | undefined }): Promise<unknown> {
  if (options.example !== undefined) {
    if (options.input !== undefined) throw new UsageError('give --input or --example, not both');
    const examples = built.flows.get(name)!.examples;
    if (!(options.example in examples)) throw new UsageError(`flow "${name}" has no example "${options.example}" (examples: ${Object.keys(examples).join(', ') || 'none'})`);
    return examples[options.example];
  }
  if (options.input === undefined) throw new UsageError('run needs --input JSON, --input @file.json or --example NAME');
  const text = options.input.startsWith('@') ? await readFile(resolvePath(io, options.input.slice(1)), 'utf8') : options.input;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--input is not valid JSON: ${(error as Error).message}`);
  }
}
