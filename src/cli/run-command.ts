import { readFile } from 'node:fs/promises';
import type { ExecutionRecord } from '../engine/record.js';
import { FlowdError } from '../errors.js';
import { checkPayload, checkSignal } from '../flows/signal-check.js';
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
  /** `phase=JSON` (`{"status":"succeeded","output":…}` or `{"status":"failed","error":{…}}`): answers, in order, each callback the execution waits for. */
  readonly callback?: readonly string[] | undefined;
  /** A duration (`3d`, `90s`, ms): the clock moves on this much once the signals are delivered. */
  readonly advance?: string | undefined;
}

/**
 * `flowd run <flow> --input JSON|@file [--signal name=JSON]… [--callback phase=JSON]… [--advance 3d]`:
 * in-process, prints the record; exit 0 only when the flow succeeded. A flow that waits stops at its
 * wait (as a durable service would): `--signal` answers a signal wait, `--callback` a call's
 * callback (as `POST /callbacks/{token}` would), `--advance` moves the clock past a time wait or a timeout.
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
    const signals = (options.signal ?? []).map((text) => parseNamed(text, '--signal', 'name', `decision='{"approved":true}'`));
    const callbacks = (options.callback ?? []).map((text) => parseNamed(text, '--callback', 'phase', `charge='{"status":"succeeded","output":{}}'`));
    const advanceMs = parseAdvance(options.advance);
    let record: ExecutionRecord;
    try {
      record = await built.engine.execute(name, input, { timeoutMs });
      const compiled = built.flows.get(name)!;
      const resume = (): Promise<ExecutionRecord> => {
        const journal = waits.resume(record.executionId);
        return built.engine.start(compiled, journal.started.input, { journal: built.engine.newJournal(compiled, journal.entries), timeoutMs }).done;
      };
      // Each wait takes the next answer of its kind, in the order given.
      while (record.status === 'waiting') {
        const waiting = record.waiting!;
        if (waiting.for === 'signal' && signals.length > 0) {
          const signal = signals.shift()!;
          checkSignal(compiled, signal.name, signal.payload);
          waits.deliver(record.executionId, signal.name, signal.payload);
        } else if (waiting.for === 'callback' && callbacks.length > 0) {
          const callback = callbacks.shift()!;
          if (callback.name !== waiting.phase) throw new UsageError(`--callback ${callback.name}: the execution waits for the callback of phase "${waiting.phase}"`);
          checkCallbackBody(callback.payload);
          if (callback.payload.status === 'succeeded') checkPayload(compiled.waits.callbacks.get(waiting.phase), callback.payload.output, `the callback of phase "${waiting.phase}"`);
          waits.answerCallback(record.executionId, waiting.phase, callback.payload);
        } else {
          break;
        }
        record = await resume();
      }
      const unused = [...signals.map((signal) => `--signal ${signal.name}`), ...callbacks.map((callback) => `--callback ${callback.name}`)][0];
      if (unused !== undefined) throw new UsageError(`${unused}: the execution is ${record.status}${record.status === 'waiting' ? ` for ${record.waiting!.for}` : ''}, it does not wait for it`);
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
      const what =
        wait.for === 'signal' ? `signal "${wait.signal}" (give --signal ${wait.signal}=JSON)` : wait.for === 'callback' ? `its callback (give --callback ${wait.phase}=JSON)` : wait.for;
      io.stderr(`${name} waiting at phase ${wait.phase} for ${what} until ${wait.until} (--advance moves the clock)\n`);
    } else if (record.status !== 'succeeded') {
      const where = record.error?.phase === undefined ? '' : ` in phase ${record.error.phase}`;
      io.stderr(`${name} ${record.status}${record.recovered ? ' (recovered by its recovery flow)' : ''}${where}: ${record.error?.code ?? ''} ${record.error?.message ?? ''}\n`);
    }
    return record.status === 'succeeded' ? EXIT.ok : EXIT.failed;
  } finally {
    await built.engine.close();
  }
}

/** `name=JSON` of --signal (a signal's name) and --callback (a phase's id). */
function parseNamed(text: string, option: string, what: string, example: string): { name: string; payload: unknown } {
  const at = text.indexOf('=');
  if (at < 1) throw new UsageError(`${option} must be ${what}=JSON (e.g. ${option} ${example}), found "${text}"`);
  try {
    return { name: text.slice(0, at), payload: JSON.parse(text.slice(at + 1)) as unknown };
  } catch (error) {
    throw new UsageError(`${option} ${text.slice(0, at)}: the payload is not valid JSON: ${(error as Error).message}`);
  }
}

/** A callback's body, as `POST /callbacks/{token}` takes it. */
function checkCallbackBody(body: unknown): asserts body is { status: 'succeeded'; output?: unknown } | { status: 'failed'; error: { message: string; code?: string } } {
  const value = body as { status?: unknown; error?: { message?: unknown } } | null;
  const ok = typeof value === 'object' && value !== null && (value.status === 'succeeded' || (value.status === 'failed' && typeof value.error?.message === 'string'));
  if (!ok) throw new UsageError('--callback takes {"status":"succeeded","output":…} or {"status":"failed","error":{"message":"…"}}, as POST /callbacks/{token} does');
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
