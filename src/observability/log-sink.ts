import type { JournalEntry } from '../engine/journal/entries.js';
import type { Journal, JournalSink } from '../engine/journal/journal.js';
import { lineBindings, lineOf, QUEUE_BOUNDS } from '../engine/journal/log-view.js';
import type { FlowLogger } from '../engine/logger.js';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** The level an entry's line would have, without rendering it (most lines are skipped below LOG_LEVEL). */
function levelOf(entry: JournalEntry): Level | undefined {
  switch (entry.type) {
    case 'run_started':
    case 'triggered':
      return 'info';
    case 'phase_ended':
      return entry.fallback === true ? 'warn' : 'info';
    case 'attempt_failed':
      return entry.retryInMs === undefined ? undefined : 'info';
    case 'trigger_refused':
      return QUEUE_BOUNDS.has(entry.error.code) ? 'warn' : 'error';
    case 'execution_failed':
    case 'run_abandoned':
    case 'captures_truncated':
      return 'warn';
    case 'compensation_ended':
      return entry.status === 'succeeded' ? 'info' : 'error';
    case 'recovery_ended':
      return entry.executionId === undefined ? 'error' : entry.succeeded ? 'info' : 'warn';
    case 'execution_finished':
      return entry.status === 'succeeded' ? 'info' : 'warn';
    default:
      // `log` entries were written by the execution's logger itself; the rest are not lines.
      return undefined;
  }
}

/**
 * Writes an execution's lines to the process log as its journal grows: one `execution started`,
 * one `phase finished` per phase, retries, failures, compensations, `execution finished` (the
 * fields README "Logs" lists). A line below the process's LOG_LEVEL is never rendered.
 */
export function createLogSink(logger: FlowLogger): JournalSink {
  const enabled = (level: Level): boolean => logger.isLevelEnabled?.(level) ?? true;
  return {
    onEntry(journal: Journal, entry: JournalEntry) {
      const level = levelOf(entry);
      if (level === undefined || !enabled(level)) return;
      const line = lineOf(entry, journal.entries);
      if (line === undefined) return;
      const fields = lineBindings(journal.entries);
      for (const key of Object.keys(line.fields)) fields[key] = line.fields[key];
      logger[level](fields, line.msg);
    },
  };
}
