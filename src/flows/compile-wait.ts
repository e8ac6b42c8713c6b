import type { CompiledExpression, CompiledTemplate } from '../expressions/index.js';
import type { CompiledCallback, CompiledOnTimeout, CompiledPhase, FlowWaits, PayloadCheck, WaitPhase } from './compiled.js';
import { compileInputSchema } from './input-schema.js';
import { childLists } from './phase-tree.js';
import type { WaitPhaseDefinition } from './schema.js';
import { durationMs, type CallbackDefinition, type WaitDefinition } from './wait-schema.js';

/** What compiling a wait needs from the phase compiler (reports collected, never thrown). */
export interface WaitCompileContext {
  readonly report: (path: string, message: string) => void;
  readonly expression: (source: string, where: string) => CompiledExpression | undefined;
  readonly template: (value: unknown, where: string) => CompiledTemplate | undefined;
}

/** A `wait` phase: for a time (`for` / `until`) or for a signal (`signal` with a mandatory `timeout`). */
export function compileWait(definition: WaitPhaseDefinition, path: string, ctx: WaitCompileContext): WaitPhase | undefined {
  const wait = definition.wait;
  const where = `${path}.wait`;
  const ways = (['for', 'until', 'signal'] as const).filter((key) => wait[key] !== undefined);
  if (ways.length !== 1) {
    ctx.report(where, ways.length === 0
      ? 'a wait needs one of: for (a duration such as "10m"), until (an expression giving a timestamp), signal (a signal name, with a timeout)'
      : `a wait waits for one thing, found: ${ways.join(', ')} (use separate wait phases)`);
    return undefined;
  }
  const base = { kind: 'wait' as const, id: definition.id, description: definition.description, path };
  if (wait.signal === undefined) {
    for (const key of ['timeout', 'schema', 'on_timeout'] as const) {
      if (wait[key] !== undefined) ctx.report(`${where}.${key}`, `only a signal wait has ${key} (a wait for a time simply ends when the time comes)`);
    }
    const until = wait.until === undefined ? undefined : ctx.expression(wait.until, `${where}.until`);
    if (wait.until !== undefined && until === undefined) return undefined;
    const durationOf = wait.for === undefined ? undefined : durationMs(wait.for);
    return { ...base, for: 'time', durationMs: durationOf, until, signal: undefined, timeoutMs: undefined, check: undefined, onTimeout: { kind: 'fail' } };
  }
  if (wait.timeout === undefined) {
    ctx.report(`${where}.timeout`, `is required for a signal wait: how long to wait for "${wait.signal}" (e.g. "3d"); then on_timeout decides (fail, or { output: … })`);
    return undefined;
  }
  const check = payloadCheck(wait.schema, `${where}.schema`, ctx);
  const onTimeout = compileOnTimeout(wait.on_timeout, `${where}.on_timeout`, ctx);
  if (check === null || onTimeout === undefined) return undefined;
  return { ...base, for: 'signal', durationMs: undefined, until: undefined, signal: wait.signal, timeoutMs: durationMs(wait.timeout), check, onTimeout };
}

/** A call phase's `callback`: the call gets a single-use token, then the phase waits for it. */
export function compileCallback(definition: CallbackDefinition, path: string, ctx: WaitCompileContext): CompiledCallback | undefined {
  const check = payloadCheck(definition.schema, `${path}.schema`, ctx);
  const onTimeout = compileOnTimeout(definition.on_timeout, `${path}.on_timeout`, ctx);
  if (check === null || onTimeout === undefined) return undefined;
  return { timeoutMs: durationMs(definition.timeout), check, onTimeout };
}

function compileOnTimeout(value: WaitDefinition['on_timeout'], where: string, ctx: WaitCompileContext): CompiledOnTimeout | undefined {
  if (value === undefined || value === 'fail') return { kind: 'fail' };
  const output = ctx.template(value.output, `${where}.output`);
  return output === undefined ? undefined : { kind: 'output', output };
}

/** The payload's JSON Schema compiled; undefined: any payload; null: the schema is invalid (reported). */
function payloadCheck(schema: Record<string, unknown> | undefined, where: string, ctx: WaitCompileContext): PayloadCheck | undefined | null {
  if (schema === undefined) return undefined;
  return compileInputSchema(schema, ctx.report, { path: where, root: 'payload' }) ?? null;
}

/**
 * What a flow waits for, and where waits cannot be: inside a parallel branch or a map item (a
 * suspension stops the whole run, which a concurrent sibling cannot survive). One payload schema
 * per signal name: the route checks a signal before it is stored, whichever wait takes it.
 */
export function collectWaits(phases: readonly CompiledPhase[], report: (path: string, message: string) => void): FlowWaits {
  const signals = new Map<string, PayloadCheck | undefined>();
  const schemaAt = new Map<string, string>();
  const callbacks = new Map<string, PayloadCheck | undefined>();
  let durable = false;
  const visit = (list: readonly CompiledPhase[], concurrent: string | undefined): void => {
    for (const phase of list) {
      const waits = phase.kind === 'wait' || (phase.kind === 'call' && phase.callback !== undefined);
      if (waits) {
        durable = true;
        if (concurrent !== undefined) report(phase.path, `a phase that waits cannot run ${concurrent}: a wait stops the whole run until it ends; move it before or after`);
      }
      if (phase.kind === 'wait' && phase.signal !== undefined) {
        const at = schemaAt.get(phase.signal);
        if (at !== undefined && (phase.check !== undefined || signals.get(phase.signal) !== undefined)) {
          report(`${phase.path}.wait.schema`, `signal "${phase.signal}" is also waited for at ${at}: waits for the same signal share one payload schema (declare it on one of them only)`);
        }
        if (!signals.has(phase.signal) || phase.check !== undefined) signals.set(phase.signal, phase.check);
        schemaAt.set(phase.signal, phase.path);
      }
      if (phase.kind === 'call' && phase.callback !== undefined) callbacks.set(phase.id, phase.callback.check);
      const inner = phase.kind === 'parallel' ? `in a parallel branch (${phase.id})` : phase.kind === 'map' ? `inside a map (${phase.id})` : concurrent;
      for (const child of childLists(phase)) visit(child.phases, inner);
    }
  };
  visit(phases, undefined);
  return { durable, signals, callbacks };
}
