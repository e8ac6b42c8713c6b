import { watch, type FSWatcher } from 'node:fs';
import { ConfigurationError, type ConfigurationIssue } from '../errors.js';
import type { CompiledFlow } from './compiled.js';
import { closeComponents } from './definition-use.js';
import type { CatalogChange, FlowCatalog } from './flow-catalog.js';

/** What asked for a reload. */
export type ReloadTrigger = 'start' | 'api' | 'signal' | 'watch';

/** The outcome of one reload: applied (something changed), unchanged, or rejected (the last good set kept serving). */
export interface ReloadResult {
  readonly outcome: 'applied' | 'unchanged' | 'rejected';
  readonly trigger: ReloadTrigger;
  /** When it ended (ms since the epoch). */
  readonly at: number;
  /** The catalog generation serving after it. */
  readonly generation: number;
  /** Every version and how it changed (empty when rejected). */
  readonly changes: readonly CatalogChange[];
  /** Why it was rejected: every problem of every file (empty otherwise). */
  readonly issues: readonly ConfigurationIssue[];
}

export interface FlowReloaderOptions {
  readonly catalog: FlowCatalog;
  /** Reads and compiles the whole set again; throws ConfigurationError listing every problem. */
  readonly compile: () => Promise<CompiledFlow[]>;
  /** The problems that kept the flows from loading at start (the catalog started empty). */
  readonly startIssues?: readonly ConfigurationIssue[] | undefined;
  readonly now?: () => number;
}

/** How long the watcher waits after the last change in the directory before it reloads (an editor's save is several events). */
export const WATCH_DEBOUNCE_MS = 150;
const REWATCH_AFTER_MS = 2000;

/**
 * Reloads the flow set: compiles it again as a whole and swaps it into the catalog at once, or,
 * when any file has a problem, keeps serving the last good set and reports every problem. One
 * reload runs at a time; requests made while one runs are served by one more reload after it.
 * Optionally watches the flows directory and reloads after changes settle.
 */
export class FlowReloader {
  readonly #options: FlowReloaderOptions;
  readonly #listeners: ((result: ReloadResult) => void)[] = [];
  #last: ReloadResult;
  #running: Promise<ReloadResult> | undefined;
  #queued: { promise: Promise<ReloadResult>; trigger: ReloadTrigger } | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #rewatch: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: FlowReloaderOptions) {
    this.#options = options;
    const { catalog } = options;
    const changes = catalog.loaded().map((flow) => ({ flow: flow.name, version: flow.version, change: 'added' as const }));
    const issues = options.startIssues ?? [];
    this.#last = { outcome: issues.length > 0 ? 'rejected' : 'applied', trigger: 'start', at: this.#now(), generation: catalog.generation, changes, issues };
  }

  /** The last reload's result (the load at start until there is another). */
  get last(): ReloadResult {
    return this.#last;
  }

  /** Told of every reload's result, rejected ones included. */
  onReload(listener: (result: ReloadResult) => void): void {
    this.#listeners.push(listener);
  }

  /** Reloads now (after the one running, if any). Never throws: a problem is a rejected result. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    if (this.#running === undefined) return this.#start(trigger);
    if (this.#queued === undefined) {
      const promise = this.#running.then(() => {
        this.#queued = undefined;
        return this.#start(trigger);
      });
      this.#queued = { promise, trigger };
    }
    return this.#queued.promise;
  }

  /**
   * Reloads whenever a file in `dir` changes (settled for WATCH_DEBOUNCE_MS). A watch that fails
   * (the directory was removed) is reported to `onError` and tried again every 2 s.
   */
  watch(dir: string, onError: (error: Error) => void): void {
    if (this.#closed || this.#watcher !== undefined) return;
    try {
      this.#watcher = watch(dir, { persistent: false }, () => this.#changed());
      this.#watcher.on('error', (error) => {
        this.#unwatch();
        onError(error);
        this.#rewatch = setTimeout(() => this.watch(dir, onError), REWATCH_AFTER_MS).unref();
      });
    } catch (error) {
      onError(error as Error);
      this.#rewatch = setTimeout(() => this.watch(dir, onError), REWATCH_AFTER_MS).unref();
    }
  }

  /** Stops watching; a reload still running completes. */
  close(): void {
    this.#closed = true;
    this.#unwatch();
    clearTimeout(this.#debounce);
    clearTimeout(this.#rewatch);
  }

  #changed(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload('watch'), WATCH_DEBOUNCE_MS).unref();
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #start(trigger: ReloadTrigger): Promise<ReloadResult> {
    const running = this.#run(trigger).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #run(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { catalog } = this.#options;
    let result: ReloadResult;
    try {
      const flows = await this.#options.compile();
      const swap = catalog.replace(flows);
      // Compiled but not used (equal to a definition held): closed at once. Retired definitions
      // are closed once no execution runs on them (DefinitionUse, held by the engine).
      for (const flow of swap.discarded) void closeComponents(flow);
      result = { outcome: swap.changed ? 'applied' : 'unchanged', trigger, at: this.#now(), generation: swap.generation, changes: swap.changes, issues: [] };
    } catch (error) {
      const issues = error instanceof ConfigurationError ? error.issues : [{ path: '', message: `the flows could not be read: ${(error as Error).message}` }];
      result = { outcome: 'rejected', trigger, at: this.#now(), generation: catalog.generation, changes: [], issues };
    }
    this.#last = result;
    for (const listener of this.#listeners) listener(result);
    return result;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
