import type { Component } from '../adapters/types.js';
import type { CompiledFlow } from './compiled.js';

export interface UnavailableComponent {
  readonly flow: string;
  readonly component: string;
  readonly reason: string;
}

interface Check {
  readonly at: number;
  readonly result: Promise<string | undefined>;
}

/**
 * Asks the components marked `required: true` whether they can serve (Component.ready), for
 * `/health/ready`. Each answer is reused for `cacheMs`, so frequent probes do not become a load on
 * the databases; each check is bounded by `timeoutMs` (a hung connect counts as unavailable).
 */
export class ComponentReadiness {
  readonly #checks = new WeakMap<Component, Check>();
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #now: () => number;

  constructor(options: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#cacheMs = options.cacheMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The required components of these flows that cannot serve now, with why. */
  async unavailable(flows: Iterable<CompiledFlow>): Promise<UnavailableComponent[]> {
    const pending: Promise<UnavailableComponent | undefined>[] = [];
    for (const flow of flows) {
      for (const component of flow.components.values()) {
        if (!component.required || component.instance.ready === undefined) continue;
        pending.push(this.#check(component.instance).then((reason) => (reason === undefined ? undefined : { flow: flow.name, component: component.name, reason })));
      }
    }
    return (await Promise.all(pending)).filter((entry): entry is UnavailableComponent => entry !== undefined);
  }

  #check(instance: Component): Promise<string | undefined> {
    const now = this.#now();
    const cached = this.#checks.get(instance);
    if (cached !== undefined && now - cached.at < this.#cacheMs) return cached.result;
    const result = withTimeout(instance.ready!(), this.#timeoutMs).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    this.#checks.set(instance, { at: now, result });
    return result;
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
