import { FlowdError, InputValidationError } from '../errors.js';
import type { CompiledFlow, PayloadCheck } from './compiled.js';

/**
 * Refuses a signal the flow does not wait for, or a payload its wait's schema refuses
 * (FLOWD_ERR_SIGNAL_INVALID, listing the signals it takes or the payload's issues): the one check
 * the API, the test kit and `flowd run` apply before a signal is kept.
 */
export function checkSignal(flow: CompiledFlow, name: string, payload: unknown, subject = `flow "${flow.name}"`): void {
  if (!flow.waits.signals.has(name)) {
    const names = [...flow.waits.signals.keys()];
    throw new FlowdError('FLOWD_ERR_SIGNAL_INVALID', `${subject} waits for no signal named "${name}"; ${names.length === 0 ? 'its flow waits for no signal' : `it takes: ${names.join(', ')}`}`);
  }
  checkPayload(flow.waits.signals.get(name), payload, `signal "${name}"`);
}

/** Refuses a payload its check (a wait's or a callback's schema) refuses. */
export function checkPayload(check: PayloadCheck | undefined, payload: unknown, what: string): void {
  const issues = check?.(payload);
  if (issues !== undefined) {
    throw new InputValidationError(`the payload of ${what} does not match its schema: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues, {
      code: 'FLOWD_ERR_SIGNAL_INVALID',
    });
  }
}
