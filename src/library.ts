import type { Dispatcher } from 'undici';
import { createDelayAdapter } from './adapters/delay/delay-adapter.js';
import { createEgressDispatcher, createEgressPolicy, type EgressPolicy } from './adapters/http/egress/index.js';
import { createHttpAdapter } from './adapters/http/http-adapter.js';
import { createMockAdapter } from './adapters/mock/mock-adapter.js';
import { AdapterRegistry } from './adapters/registry.js';
import { transformAdapter } from './adapters/transform/transform-adapter.js';
import type { ComponentAdapter } from './adapters/types.js';
import { FlowEngine, type FlowEngineOptions } from './engine/flow-engine.js';
import type { CompiledFlow } from './flows/compiled.js';
import { compileFlows, type FlowSource } from './flows/compiler.js';
import { readFlowDirectory } from './flows/loader.js';
import type { FlowDefinition } from './flows/schema.js';
import { SecretStore } from './flows/secrets.js';

export interface CreateEngineOptions extends Omit<FlowEngineOptions, 'flows' | 'onClose'> {
  /** Flow definitions given in code (the same shape as a flow file). */
  readonly flows?: readonly (FlowDefinition | Record<string, unknown>)[];
  /** A directory of flow files to load as well. */
  readonly flowsDir?: string;
  /** Custom adapters, registered beside the built-ins (`http`, `transform`, `delay`, `mock`). */
  readonly adapters?: readonly ComponentAdapter<never>[];
  /** Hosts, IPs and CIDRs that `http` components may reach although they are private or loopback. */
  readonly egressAllow?: readonly string[];
  /** Replaces the egress-checked dispatcher of the `http` adapter (tests, custom pools). */
  readonly httpDispatcher?: Dispatcher;
  readonly httpConnectionsPerOrigin?: number;
  /** Where `${secret:NAME}` references are read from. Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Collects resolved secret values so every sink can mask them. */
  readonly secrets?: SecretStore;
  readonly random?: () => number;
}

export interface BuiltEngine {
  readonly engine: FlowEngine;
  readonly flows: ReadonlyMap<string, CompiledFlow>;
  readonly secrets: SecretStore;
  readonly adapters: AdapterRegistry;
}

/** The registry of built-in adapters plus custom ones; duplicate kinds are rejected. */
export function createBuiltinRegistry(options: {
  dispatcher: Dispatcher;
  random?: (() => number) | undefined;
  adapters?: readonly ComponentAdapter<never>[] | undefined;
  /** Masks secrets in upstream error bodies before they are cut to size. */
  secrets?: SecretStore | undefined;
}): AdapterRegistry {
  const registry = new AdapterRegistry();
  const secrets = options.secrets;
  registry.register(createHttpAdapter({ dispatcher: options.dispatcher, ...(secrets === undefined ? {} : { maskText: (text: string) => secrets.maskText(text) }) }));
  registry.register(transformAdapter);
  registry.register(createDelayAdapter());
  registry.register(createMockAdapter(options.random === undefined ? {} : { random: options.random }));
  for (const adapter of options.adapters ?? []) registry.register(adapter);
  return registry;
}

/**
 * Builds a ready engine from flow definitions (in code and/or a directory): the library entry
 * point. Throws a ConfigurationError listing every problem of every flow.
 */
export async function buildEngine(options: CreateEngineOptions = {}): Promise<BuiltEngine> {
  const policy: EgressPolicy = createEgressPolicy({ allow: [...(options.egressAllow ?? [])] });
  const ownDispatcher =
    options.httpDispatcher === undefined
      ? createEgressDispatcher({ policy, connections: options.httpConnectionsPerOrigin ?? 64 })
      : undefined;
  const dispatcher = options.httpDispatcher ?? ownDispatcher!;
  const secrets = options.secrets ?? new SecretStore();
  const adapters = createBuiltinRegistry({ dispatcher, random: options.random, adapters: options.adapters, secrets });
  const sources: FlowSource[] = (options.flows ?? []).map((definition, index) => ({
    source: `<flows[${index}]${typeof definition.name === 'string' ? ` ${definition.name}` : ''}>`,
    definition,
  }));
  const fromDir = options.flowsDir === undefined ? undefined : await readFlowDirectory(options.flowsDir);
  sources.push(...(fromDir?.sources ?? []));
  let flows: Map<string, CompiledFlow>;
  try {
    flows = compileFlows(sources, {
      adapters,
      env: options.env ?? process.env,
      secrets,
      priorIssues: fromDir?.issues ?? [],
    });
  } catch (error) {
    await ownDispatcher?.close();
    throw error;
  }
  const engine = new FlowEngine({
    ...options,
    flows,
    ...(ownDispatcher === undefined ? {} : { onClose: () => ownDispatcher.close() }),
  });
  return { engine, flows, secrets, adapters };
}

/** Shorthand: the engine alone. */
export async function createEngine(options: CreateEngineOptions = {}): Promise<FlowEngine> {
  return (await buildEngine(options)).engine;
}
