import { LRUCache } from 'lru-cache';

/**
 * Where call phases keep cached outputs. The in-memory LRU is the default; a shared store
 * (Redis, the database) can implement the same interface.
 */
export interface PhaseCache {
  /**
   * Returns the cached value for `key`, or runs `load` once for all concurrent callers of the
   * same key (single-flight) and caches its value for `ttlMs`. A rejected load is not cached.
   */
  getOrLoad(key: string, ttlMs: number, load: () => Promise<unknown>): Promise<{ value: unknown; hit: boolean }>;
  clear(): void;
}

interface LoadContext {
  load: () => Promise<unknown>;
}

export function createMemoryPhaseCache(options: { maxEntries?: number; now?: () => number } = {}): PhaseCache {
  const cache = new LRUCache<string, { value: unknown }, LoadContext>({
    max: options.maxEntries ?? 10_000,
    ttlAutopurge: false,
    // An injected clock (the engine's, in tests) measures TTLs; read on every check, not debounced.
    ...(options.now === undefined ? {} : { perf: { now: options.now }, ttlResolution: 0 }),
    // Values are wrapped so that null/undefined outputs are cacheable too.
    fetchMethod: async (_key, _stale, { context }) => ({ value: await context.load() }),
  });
  return {
    async getOrLoad(key, ttlMs, load) {
      const status: LRUCache.Status<string, { value: unknown }, LoadContext> = {};
      const entry = await cache.fetch(key, { ttl: ttlMs, context: { load }, status });
      // A caller that joined an in-flight load made no upstream call of its own: that is a hit.
      return { value: entry?.value, hit: status.fetch === 'hit' || status.fetch === 'inflight' };
    },
    clear: () => cache.clear(),
  };
}
