import { ConfigurationError } from '../errors.js';
import type { ComponentAdapter } from './types.js';

export class AdapterRegistry {
  readonly #adapters = new Map<string, ComponentAdapter<unknown>>();

  constructor(adapters: Iterable<ComponentAdapter<never>> = []) {
    for (const adapter of adapters) this.register(adapter);
  }

  register<Config>(adapter: ComponentAdapter<Config>): this {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(adapter.kind)) {
      throw new ConfigurationError([{ file: 'adapters', path: String(adapter.kind), message: `adapter kind "${adapter.kind}" must match ^[a-z][a-z0-9_-]{0,63}$` }]);
    }
    if (this.#adapters.has(adapter.kind)) {
      throw new ConfigurationError([{ file: 'adapters', path: adapter.kind, message: `an adapter of kind "${adapter.kind}" is already registered (a custom adapter cannot replace a built-in one or another custom one)` }]);
    }
    this.#adapters.set(adapter.kind, adapter);
    return this;
  }

  get(kind: string): ComponentAdapter<unknown> | undefined {
    return this.#adapters.get(kind);
  }

  kinds(): string[] {
    return [...this.#adapters.keys()];
  }
}

export function createAdapterRegistry(adapters: Iterable<ComponentAdapter<never>> = []): AdapterRegistry {
  return new AdapterRegistry(adapters);
}
