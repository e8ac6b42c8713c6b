/**
 * flowd's library API: build an engine from flow definitions (in code or a directory), register
 * custom adapters and middleware, execute flows in-process and get the same execution record the
 * REST API returns.
 */
export { buildEngine, createEngine, createBuiltinRegistry, type BuiltEngine, type CreateEngineOptions } from './library.js';
export { FlowEngine, FlowNotFoundError, type FlowEngineOptions } from './engine/flow-engine.js';
export {
  FlowTransaction,
  withTransaction,
  type TransactionOptions,
  type TransactionState,
  type TransactionFailureContext,
} from './engine/transaction.js';
export type { ExecuteOptions, ExecutionObserver, Clock } from './engine/runtime.js';
export type {
  Middleware,
  FlowContext,
  PhaseContext,
  RetryEvent,
  CacheEvent,
  CompensationEvent,
  CircuitStateEvent,
} from './engine/middleware.js';
export type {
  ExecutionRecord,
  ExecutionStatus,
  PhaseRecord,
  PhaseStatus,
  PhaseKind,
  ErrorSummary,
  CompensationRecord,
} from './engine/record.js';
export { EXECUTION_STATUSES, TERMINAL_STATUSES } from './engine/record.js';
export type { PhaseCache } from './engine/phase-cache.js';
export { createMemoryPhaseCache } from './engine/phase-cache.js';
export type { FlowLogger } from './engine/logger.js';
export type { ComponentAdapter, Component, AdapterContext, ComponentInit } from './adapters/types.js';
export { RetryableError, TerminalError, FAILURE_BRAND, RETRY_CATEGORIES, failureOf, type FailureInfo, type FailureOptions, type RetryCategory } from './adapters/failures.js';
export { AdapterRegistry, createAdapterRegistry } from './adapters/registry.js';
export type { FlowDefinition, PhaseDefinition, RetryPolicyDefinition } from './flows/schema.js';
export { FlowDefinitionSchema } from './flows/schema.js';
export type { CompiledFlow } from './flows/compiled.js';
export { FlowCatalog, compareVersions, type CatalogChange, type CatalogSwap, type DefinitionKey } from './flows/flow-catalog.js';
export type { FlowReloader, ReloadResult, ReloadTrigger } from './flows/flow-reloader.js';
export { flowDiagram } from './flows/diagram.js';
export * from './errors.js';
