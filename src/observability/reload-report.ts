import type { Logger } from 'pino';
import type { FlowCatalog } from '../flows/flow-catalog.js';
import type { FlowReloader, ReloadResult } from '../flows/flow-reloader.js';
import type { FlowdMetrics } from './metrics.js';

/** One line per problem, as `flowd validate` prints it: `file: path: message`. */
export function reloadProblems(result: ReloadResult): string[] {
  return result.issues.map((issue) => [issue.file, issue.path, issue.message].filter((part) => part !== undefined && part !== '').join(': '));
}

/**
 * Every reload in the log and the metrics: what changed (`flows reloaded`), or every problem of
 * a rejected set (`flow reload rejected`, level error: the last good set keeps serving).
 */
export function reportReloads(reloader: FlowReloader, catalog: FlowCatalog, deps: { logger: Logger; metrics: FlowdMetrics }): void {
  const { logger, metrics } = deps;
  const log = (result: ReloadResult): void => {
    const bindings = { trigger: result.trigger, generation: result.generation };
    if (result.outcome === 'rejected') {
      logger.error({ ...bindings, problems: reloadProblems(result) }, 'flow reload rejected: the last good flows keep serving');
    } else if (result.outcome === 'unchanged') {
      logger.info(bindings, 'flows reloaded: nothing changed');
    } else {
      const changes = result.changes.filter((change) => change.change !== 'unchanged').map((change) => `${change.flow} v${change.version} ${change.change}`);
      logger.info({ ...bindings, changes }, 'flows reloaded');
    }
  };
  // Started without flows (`flowd dev` with a broken file): the problems, until a reload fixes them.
  if (reloader.last.outcome === 'rejected') log(reloader.last);
  reloader.onReload((result) => {
    metrics.flowReloads.inc({ outcome: result.outcome });
    metrics.flowsLoaded.set(catalog.size);
    log(result);
  });
}
