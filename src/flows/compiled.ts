import type { CompiledSchedule } from './compile-schedules.js';
import type { BulkheadPolicy, CircuitBreakerPolicy } from 'cockatiel';
import type { Component } from '../adapters/types.js';
import type { InputIssue } from '../errors.js';
import type { CompiledExpression, CompiledTemplate } from '../expressions/index.js';
import type { FlowDefinition, RetryPolicyDefinition } from './schema.js';

/** Which failures a retry policy retries. */
export { RETRY_CATEGORIES as RETRY_ON, type RetryCategory as RetryOn } from '../adapters/failures.js';
import type { RetryCategory as RetryOn } from '../adapters/failures.js';

export interface RetrySettings {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly backoffFactor: number;
  readonly maxDelayMs: number;
  readonly jitter: 'full' | 'none';
  readonly retryOn: ReadonlySet<RetryOn>;
  /** Total time for all attempts and delays of one phase; undefined = bounded by the phase and flow deadlines. */
  readonly budgetMs: number | undefined;
}

export interface CompiledComponent {
  readonly name: string;
  readonly adapter: string;
  readonly description: string | undefined;
  readonly instance: Component;
  /** `/health/ready` waits for it (Component.ready) before answering ready. */
  readonly required: boolean;
  /** Called directly, without retry, timeout, breaker or bulkhead (see ComponentAdapter.pure). */
  readonly pure: boolean;
  /** Per-attempt timeout of every call to this component. */
  readonly timeoutMs: number;
  /** The component's own retry policy, merged into each phase's at load. */
  readonly retryDefinition: RetryPolicyDefinition | undefined;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly breakerHalfOpenAfterMs: number;
  readonly bulkhead: BulkheadPolicy | undefined;
  /** Safe-to-show facts (adapter, target origin): never secrets. */
  readonly summary: Record<string, unknown>;
}

interface PhaseBase {
  readonly id: string;
  readonly description: string | undefined;
  /** Location in the flow file, e.g. `phases[2].map.phases[0]`, for errors. */
  readonly path: string;
}

export interface CompiledCache {
  readonly ttlMs: number;
  readonly key: CompiledTemplate | undefined;
}

export interface CompiledCompensation {
  readonly component: CompiledComponent;
  readonly request: CompiledTemplate;
  readonly timeoutMs: number;
  readonly retry: RetrySettings;
}

export interface CallPhase extends PhaseBase {
  readonly kind: 'call';
  readonly component: CompiledComponent;
  readonly request: CompiledTemplate;
  readonly output: CompiledTemplate | undefined;
  readonly attemptTimeoutMs: number;
  /** Deadline of the whole phase (all attempts); undefined = the flow's. */
  readonly timeoutMs: number | undefined;
  readonly retry: RetrySettings;
  readonly cache: CompiledCache | undefined;
  readonly fallback: CompiledTemplate | undefined;
  readonly compensate: CompiledCompensation | undefined;
  /** Waits for its callback (`POST /callbacks/{token}`) after the call: a task token (docs/waits.md). */
  readonly callback: CompiledCallback | undefined;
}

/** What a signal or callback wait does when its timeout passes first. */
export type CompiledOnTimeout = { readonly kind: 'fail' } | { readonly kind: 'output'; readonly output: CompiledTemplate };

/** Checks a signal or callback payload: undefined when valid, else the issues. */
export type PayloadCheck = (payload: unknown) => readonly InputIssue[] | undefined;

export interface CompiledCallback {
  readonly timeoutMs: number;
  readonly check: PayloadCheck | undefined;
  readonly onTimeout: CompiledOnTimeout;
}

export interface WaitPhase extends PhaseBase {
  readonly kind: 'wait';
  readonly for: 'time' | 'signal';
  /** `for`: a fixed duration. */
  readonly durationMs: number | undefined;
  /** `until`: the moment, evaluated when the wait starts. */
  readonly until: CompiledExpression | undefined;
  readonly signal: string | undefined;
  /** A signal wait's timeout. */
  readonly timeoutMs: number | undefined;
  readonly check: PayloadCheck | undefined;
  readonly onTimeout: CompiledOnTimeout;
}

export interface CompiledBranch {
  readonly label: string;
  /** undefined for the `otherwise` branch. */
  readonly when: CompiledExpression | undefined;
  readonly phases: readonly CompiledPhase[];
  /** Jump to a phase of the same list after this branch's phases ran. */
  readonly goto: string | undefined;
  readonly maxIterations: number | undefined;
}

export interface DecisionPhase extends PhaseBase {
  readonly kind: 'decision';
  readonly branches: readonly CompiledBranch[];
}

export interface ParallelPhase extends PhaseBase {
  readonly kind: 'parallel';
  readonly branches: readonly { readonly name: string; readonly phases: readonly CompiledPhase[] }[];
}

export interface MapPhase extends PhaseBase {
  readonly kind: 'map';
  readonly items: CompiledExpression;
  readonly concurrency: number;
  readonly maxItems: number;
  readonly phases: readonly CompiledPhase[];
  readonly output: CompiledTemplate | undefined;
}

export interface SubflowPhase extends PhaseBase {
  readonly kind: 'subflow';
  readonly flow: string;
  readonly input: CompiledTemplate | undefined;
  readonly output: CompiledTemplate | undefined;
}

export type CompiledPhase = CallPhase | DecisionPhase | ParallelPhase | MapPhase | SubflowPhase | WaitPhase;

/** What a flow waits for, found at load. */
export interface FlowWaits {
  /** It has a wait that may outlast a request (any signal or callback wait, or a time wait): it always runs durably. */
  readonly durable: boolean;
  /** The signals its waits take, with their payload checks (the signal route validates by them). */
  readonly signals: ReadonlyMap<string, PayloadCheck | undefined>;
  /** Its callback waits by checkpoint key prefix (phase id): how a callback's payload is checked. */
  readonly callbacks: ReadonlyMap<string, PayloadCheck | undefined>;
}

export interface CompiledDependency {
  readonly flow: string;
  readonly input: CompiledTemplate | undefined;
  /**
   * When set, the prerequisite is not run: a succeeded execution of it (with the same correlation
   * key, when one is given) must have finished within this many ms, else the flow fails (424).
   */
  readonly withinMs: number | undefined;
  /** Evaluated on the dependent's scope; matched against the prerequisite executions' correlationKey. */
  readonly correlationKey: CompiledTemplate | undefined;
}

export interface CompiledTrigger {
  readonly flow: string;
  readonly on: 'succeeded' | 'failed' | 'completed';
  readonly input: CompiledTemplate | undefined;
}

export type Persistence = 'none' | 'failed' | 'all';

export interface CompiledFlow {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** Where it came from (a file path, or `<api>` for definitions given in code). */
  readonly source: string;
  /** Content hash of the definition, to pin executions to the version they started on. */
  readonly hash: string;
  /** The definition as written, with secret references left unresolved: safe to show. */
  readonly definition: FlowDefinition;
  readonly inputSchema: Record<string, unknown>;
  readonly validateInput: (input: unknown) => readonly InputIssue[] | undefined;
  readonly examples: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  readonly transactional: boolean;
  readonly recovery: { readonly flow: string; readonly on: ReadonlySet<string> | undefined } | undefined;
  readonly persistence: Persistence | undefined;
  /** What its executions capture of their calls; undefined = the service's CAPTURE. */
  readonly capture: 'none' | 'errors' | 'all' | undefined;
  readonly components: ReadonlyMap<string, CompiledComponent>;
  readonly phases: readonly CompiledPhase[];
  readonly output: CompiledTemplate | undefined;
  readonly dependsOn: readonly CompiledDependency[];
  readonly triggers: readonly CompiledTrigger[];
  /** Cron schedules that start it (docs/schedules.md). */
  readonly schedules: readonly CompiledSchedule[];
  /** Every phase id in the flow, nested ones included, in file order. */
  readonly phaseIds: readonly string[];
  /** Its waits (docs/waits.md). */
  readonly waits: FlowWaits;
}
