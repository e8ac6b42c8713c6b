import type { ExecutionStartedEntry, JournalEntry } from '../engine/journal/entries.js';
import type { Journal } from '../engine/journal/journal.js';
import { logView, type ExecutionLogLine } from '../engine/journal/log-view.js';
import { recordView } from '../engine/journal/record-view.js';
import { TERMINAL_STATUSES, type ExecutionRecord, type ExecutionStatus } from '../engine/record.js';
import { decodeRows } from '../durable/journal-codec.js';
import type { ExecutionStore, ExecutionSummary, StoredOptions } from '../store/execution-store.js';
import { LOCAL_TENANT, type Caller } from './caller.js';
import type { RecentExecutions } from './recent.js';

/** An execution as listed: its summary, without its phases. */
export interface ExecutionListItem {
  executionId: string;
  flow: string;
  version: string;
  status: ExecutionStatus;
  startedAt: string;
  finishedAt?: string | undefined;
  parentId?: string | undefined;
  correlationKey?: string | undefined;
  errorCode?: string | undefined;
  recovered?: boolean | undefined;
  /** The tenant it belongs to (the starting key's; `local` without keys). */
  tenant: string;
  /** false: kept in this process's memory only (persistence `none`), lost on restart. */
  stored: boolean;
}

export interface ListQuery {
  readonly flow?: string | undefined;
  readonly status?: ExecutionStatus | undefined;
  /** Only this tenant's (for operators; a caller who sees one tenant sees nothing of another). */
  readonly tenant?: string | undefined;
  readonly limit: number;
  /** The id of the last item of the previous page. */
  readonly cursor?: string | undefined;
}

/** Where an execution's journal was found. */
export interface FoundExecution {
  readonly entries: readonly JournalEntry[];
  /** `running`: in this process now; `memory`: ended here, not stored; `store`: from the store. */
  readonly source: 'running' | 'memory' | 'store';
  /** The store's summary (authoritative status), for stored ones. */
  readonly summary?: ExecutionSummary | undefined;
  readonly options?: StoredOptions | undefined;
  /** The journal itself, when it is in this process (running or recent). */
  readonly journal?: Journal | undefined;
}

export interface ExecutionReadsOptions {
  /** Journals of executions running in this process. */
  readonly running: (executionId: string) => Journal | undefined;
  readonly recent: RecentExecutions;
  readonly store: ExecutionStore;
  /** Secrets masked, sensitive fields redacted. */
  readonly clean: (value: unknown) => unknown;
}

/**
 * Reads executions for callers: the record (summary or detailed), the log, the list — built from
 * the journal wherever it is (running here, kept in memory, stored). A caller only ever sees its
 * own tenant's executions unless it may see all; another tenant's execution is "not found",
 * exactly like an unknown id.
 */
export class ExecutionReads {
  readonly #options: ExecutionReadsOptions;

  constructor(options: ExecutionReadsOptions) {
    this.#options = options;
  }

  /** The execution's journal (with its raw values when `withState`), or undefined for unknown or foreign ids. */
  async find(executionId: string, caller: Caller, withState = false): Promise<FoundExecution | undefined> {
    const { running, recent, store } = this.#options;
    const live = running(executionId) ?? recent.get(executionId);
    if (live !== undefined) {
      if (!visible(caller, live.started.tenant)) return undefined;
      return { entries: live.entries, source: running(executionId) === live ? 'running' : 'memory', journal: live };
    }
    const stored = await store.get(executionId, { withState });
    if (stored === undefined || !visible(caller, stored.summary.tenant)) return undefined;
    return { entries: decodeRows(stored.rows), source: 'store', summary: stored.summary, options: stored.options };
  }

  async record(executionId: string, caller: Caller, detail = true): Promise<ExecutionRecord | undefined> {
    const found = await this.find(executionId, caller);
    if (found === undefined) return undefined;
    const record = this.view(found, detail);
    // Who it belongs to, for whoever reads it (an operator sees several tenants'); not part of
    // the execute answer, whose caller is the owner.
    record.tenant = (found.entries[0] as ExecutionStartedEntry).tenant ?? LOCAL_TENANT;
    return record;
  }

  view(found: FoundExecution, detail: boolean): ExecutionRecord {
    const record = recordView(found.entries, { clean: this.#options.clean, detail });
    // The store's status is the authority for what this journal does not say yet (queued,
    // cancelled before it ran, running on another replica).
    const status = found.summary?.status;
    if (status !== undefined && !TERMINAL_STATUSES.has(record.status)) record.status = status;
    return record;
  }

  async logs(executionId: string, caller: Caller): Promise<ExecutionLogLine[] | undefined> {
    const found = await this.find(executionId, caller);
    return found === undefined ? undefined : logView(found.entries, this.#options.clean);
  }

  /** The caller's executions, newest first: this process's unstored ones merged with the stored ones. */
  async list(query: ListQuery, caller: Caller): Promise<{ items: ExecutionListItem[]; nextCursor?: string }> {
    const tenant = caller.allTenants ? query.tenant : caller.tenant;
    if (query.tenant !== undefined && query.tenant !== tenant) return { items: [] };
    const page = await this.#options.store.list({ flow: query.flow, status: query.status, tenant, limit: query.limit + 1, cursor: query.cursor });
    const items: ExecutionListItem[] = page.items.map((summary) => fromSummary(summary));
    for (const journal of this.#options.recent.newestFirst()) {
      const started = journal.started;
      if (query.cursor !== undefined && started.executionId >= query.cursor) continue;
      if (!visible(caller, started.tenant) || (query.flow !== undefined && started.flow !== query.flow)) continue;
      if (tenant !== undefined && (started.tenant ?? LOCAL_TENANT) !== tenant) continue;
      const item = fromJournal(journal.entries);
      if (query.status !== undefined && item.status !== query.status) continue;
      items.push(item);
      if (items.length > 2 * query.limit + 1) break;
    }
    items.sort((a, b) => (a.executionId < b.executionId ? 1 : a.executionId > b.executionId ? -1 : 0));
    const more = items.length > query.limit || page.nextCursor !== undefined;
    const shown = items.slice(0, query.limit);
    const last = shown.at(-1);
    return more && last !== undefined ? { items: shown, nextCursor: last.executionId } : { items: shown };
  }
}

export function visible(caller: Caller, tenant: string | undefined): boolean {
  return caller.allTenants || (tenant ?? LOCAL_TENANT) === caller.tenant;
}

function fromSummary(summary: ExecutionSummary): ExecutionListItem {
  const item: ExecutionListItem = {
    executionId: summary.executionId,
    flow: summary.flow,
    version: summary.version,
    status: summary.status,
    startedAt: new Date(summary.startedAt).toISOString(),
    tenant: summary.tenant,
    stored: true,
  };
  if (summary.finishedAt !== undefined) item.finishedAt = new Date(summary.finishedAt).toISOString();
  if (summary.parentId !== undefined) item.parentId = summary.parentId;
  if (summary.correlationKey !== undefined) item.correlationKey = summary.correlationKey;
  if (summary.errorCode !== undefined) item.errorCode = summary.errorCode;
  if (summary.recovered === true) item.recovered = true;
  return item;
}

function fromJournal(entries: readonly JournalEntry[]): ExecutionListItem {
  const record = recordView(entries);
  const item: ExecutionListItem = {
    executionId: record.executionId,
    flow: record.flow,
    version: record.version,
    status: record.status,
    startedAt: record.startedAt,
    tenant: (entries[0] as ExecutionStartedEntry).tenant ?? LOCAL_TENANT,
    stored: false,
  };
  if (record.finishedAt !== undefined) item.finishedAt = record.finishedAt;
  if (record.parentId !== undefined) item.parentId = record.parentId;
  if (record.correlationKey !== undefined) item.correlationKey = record.correlationKey;
  if (record.error !== undefined) item.errorCode = record.error.code;
  if (record.recovered) item.recovered = true;
  return item;
}
