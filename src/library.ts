import type { Dispatcher } from 'undici';
import { createDelayAdapter } from './adapters/delay/delay-adapter.js';
import { createAmqpAdapter } from './adapters/amqp/amqp-adapter.js';
import { createMqttAdapter } from './adapters/mqtt/mqtt-adapter.js';
import { createNatsAdapter } from './adapters/nats/nats-adapter.js';
import { createRedisAdapter } from './adapters/redis/redis-adapter.js';
import { createSqlAdapter } from './adapters/sql/sql-adapter.js';
import { createEgressDispatcher, createEgressPolicy, type EgressPolicy } from './adapters/http/egress/index.js';
import { createHttpAdapter } from './adapters/http/http-adapter.js';
import { createMockAdapter } from './adapters/mock/mock-adapter.js';
import { AdapterRegistry } from './adapters/registry.js';
import { transformAdapter } from './adapters/transform/transform-adapter.js';
import type { ComponentAdapter } from './adapters/types.js';
import { FlowEngine, type FlowEngineOptions } from './engine/flow-engine.js';
import { ConfigurationError, type ConfigurationIssue } from './errors.js';
import type { CompiledFlow } from './flows/compiled.js';
import { compileFlowVersions, type FlowSource } from './flows/compiler.js';
import { FlowCatalog } from './flows/flow-catalog.js';
import { FlowReloader } from './flows/flow-reloader.js';
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
  /**
   * Start with no flows instead of throwing when the flows have problems: the reloader's last
   * result lists them, and a reload that finds them fixed loads the set (`flowd dev`).
   */
  readonly tolerateInvalidFlows?: boolean;
}

export interface BuiltEngine {
  readonly engine: FlowEngine;
  /** The current version of every flow, now (a reload changes what this answers). */
  readonly flows: ReadonlyMap<string, CompiledFlow>;
  /** Every loaded version, the current one of each, and definitions retired by a reload. */
  readonly catalog: FlowCatalog;
  /** Compiles the flows (directory and code) again and swaps them in, or reports why not. */
  readonly reloader: FlowReloader;
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
  /** The egress policy non-HTTP components' connections must pass too (sql, redis). */
  egress?: EgressPolicy | undefined;
}): AdapterRegistry {
  const registry = new AdapterRegistry();
  const secrets = options.secrets;
  registry.register(createHttpAdapter({ dispatcher: options.dispatcher, ...(secrets === undefined ? {} : { maskText: (text: string) => secrets.maskText(text) }) }));
  registry.register(transformAdapter);
  registry.register(createDelayAdapter());
  registry.register(createMockAdapter(options.random === undefined ? {} : { random: options.random }));
  registry.register(createSqlAdapter({ egress: options.egress }));
  registry.register(createAmqpAdapter({ egress: options.egress }));
  registry.register(createNatsAdapter({ egress: options.egress }));
  registry.register(createMqttAdapter({ egress: options.egress }));
  registry.register(createRedisAdapter({ egress: options.egress }));
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
  const adapters = createBuiltinRegistry({ dispatcher, random: options.random, adapters: options.adapters, secrets, egress: policy });
  const compile = async (): Promise<CompiledFlow[]> => {
    const sources: FlowSource[] = (options.flows ?? []).map((definition, index) => ({
      source: `<flows[${index}]${typeof definition.name === 'string' ? ` ${definition.name}` : ''}>`,
      definition,
    }));
    const fromDir = options.flowsDir === undefined ? undefined : await readFlowDirectory(options.flowsDir);
    sources.push(...(fromDir?.sources ?? []));
    return compileFlowVersions(sources, { adapters, env: options.env ?? process.env, secrets, priorIssues: fromDir?.issues ?? [] });
  };
  let catalog: FlowCatalog;
  let startIssues: readonly ConfigurationIssue[] | undefined;
  try {
    catalog = new FlowCatalog(await compile());
  } catch (error) {
    if (options.tolerateInvalidFlows !== true || !(error instanceof ConfigurationError)) {
      await ownDispatcher?.close();
      throw error;
    }
    catalog = new FlowCatalog();
    startIssues = error.issues;
  }
  const engine = new FlowEngine({
    ...options,
    flows: catalog,
    ...(ownDispatcher === undefined ? {} : { onClose: () => ownDispatcher.close() }),
  });
  const reloader = new FlowReloader({ catalog, compile, startIssues });
  return {
    engine,
    catalog,
    reloader,
    get flows() {
      return catalog.current();
    },
    secrets,
    adapters,
  };
}

/** Shorthand: the engine alone. */
export async function createEngine(options: CreateEngineOptions = {}): Promise<FlowEngine> {
  return (await buildEngine(options)).engine;
}
