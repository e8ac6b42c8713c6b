import type { CompiledFlow } from '../flows/compiled.js';
import type { FlowFigures } from '../observability/flow-figures.js';
import { code, duration, fence, plural, table } from './markdown.js';
import { callPhases, isExternal, listPhases, secretNames } from './phase-walk.js';
import { breakerText, bulkheadText, componentDefinition, maxBackoffMs, retryText, worstCaseMs } from './policy-text.js';

/** Section 5: the error handling this flow actually has, resolved with flowd's defaults. */
export function errorHandling(flow: CompiledFlow): string {
  const calls = callPhases(flow);
  const external = calls.filter((phase) => isExternal(phase.component));
  const secrets = [...flow.components.keys()].flatMap((name) => secretNames(componentDefinition(flow, name)));
  const required = Array.isArray(flow.inputSchema['required']) ? (flow.inputSchema['required'] as unknown[]).map(String) : [];
  const breakers = [...flow.components.values()].filter((c) => c.breaker !== undefined);
  const bulkheads = [...flow.components.values()].filter((c) => c.bulkhead !== undefined);
  const fallbacks = calls.filter((phase) => phase.fallback !== undefined);
  const compensable = calls.filter((phase) => phase.compensate !== undefined);
  const maps = listPhases(flow).map((e) => e.phase).filter((p) => p.kind === 'map');

  const out: string[] = ['## 5. Error Handling', '### Common Error Scenarios', '**Configuration Errors:**'];
  out.push(
    [
      `- **Missing configuration**: the flow file is validated when the service starts (schema, expressions, references, adapter settings); any problem stops the start with every issue listed by file and path (${code('FLOWD_ERR_CONFIG_INVALID')}). Check it before deploying with ${code('npx flowd validate flows')}.${secrets.length === 0 ? ' No component of this flow reads a secret.' : ` Secrets read at load: ${secrets.map(code).join(', ')} (environment variable or ${code('<NAME>_FILE')}); a missing one stops the load.`}`,
      `- **Invalid parameters**: the input is checked against the flow's JSON Schema before anything runs${required.length === 0 ? '' : ` (required: ${required.map(code).join(', ')})`}; a mismatch answers ${code('400')} ${code('FLOWD_ERR_INPUT_INVALID')} with the path of every issue. A request field or condition that evaluates to nothing fails its phase with ${code('FLOWD_ERR_EXPRESSION_FAILED')} (${code('422')}) instead of sending a silent null upstream.`,
      `- **Permission issues**: when the service runs with API keys, executing needs the ${code('flows:execute')} scope (${code('401')} ${code('FLOWD_ERR_UNAUTHENTICATED')} / ${code('403')} ${code('FLOWD_ERR_FORBIDDEN')}).${external.some((p) => p.component.adapter === 'http') ? ` Outbound calls may only reach each component's configured origin; anything else is ${code('FLOWD_ERR_EGRESS_DENIED')}.` : ''}`,
    ].join('\n'),
  );
  out.push('**Runtime Errors:**');
  const runtime = [
    `- **Network failures**: ${external.length === 0 ? 'this flow calls no external system; its phases run in-process.' : `each call to an external component is retried by its policy (table below); a component that still fails ends the phase with ${code('FLOWD_ERR_COMPONENT_FAILED')} (${code('502')}).`}${fallbacks.length === 0 ? '' : ` Fallbacks keep the flow going for ${fallbacks.map((p) => code(p.id)).join(', ')}.`}`,
    `- **Timeout handling**: the whole flow has a ${duration(flow.timeoutMs)} deadline (${code('FLOWD_ERR_FLOW_TIMEOUT')}, ${code('504')}); every call attempt has its own timeout (table below) and a timed-out attempt is retried like a network failure. Callers may shorten the deadline with ${code('options.timeoutMs')}, never lengthen it.`,
    `- **Resource exhaustion**: ${[
      breakers.length === 0 ? 'no circuit breaker is configured' : `circuit breakers on ${breakers.map((c) => code(c.name)).join(', ')} fail fast with ${code('FLOWD_ERR_CIRCUIT_OPEN')} (${code('503')} + ${code('Retry-After')}) while open`,
      bulkheads.length === 0 ? 'no bulkhead limits concurrent calls' : `bulkheads on ${bulkheads.map((c) => code(c.name)).join(', ')} refuse calls beyond their limit with ${code('FLOWD_ERR_BULKHEAD_FULL')} (${code('429')} + ${code('Retry-After')})`,
      maps.length === 0 ? undefined : `maps refuse more items than their limit (${code('FLOWD_ERR_LIMIT_EXCEEDED')})`,
    ]
      .filter((part) => part !== undefined)
      .join('; ')}.`,
  ];
  out.push(runtime.join('\n'));

  if (calls.length > 0) {
    out.push('### Policies per call phase');
    out.push('Resolved at load from the phase, its component, the flow defaults and flowd\'s built-in defaults (later ones win).');
    out.push(
      table(
        ['Phase', 'Component', 'Retries', 'Attempt timeout', 'Worst case', 'Circuit breaker', 'Bulkhead', 'Fallback', 'Compensation'],
        calls.map((phase) => {
          const definition = componentDefinition(flow, phase.component.name);
          return [
            code(phase.id),
            code(phase.component.name),
            retryText(phase.retry),
            duration(phase.attemptTimeoutMs),
            `${duration(worstCaseMs(phase, flow))}${phase.timeoutMs === undefined ? '' : ` (phase deadline ${duration(phase.timeoutMs)})`}`,
            breakerText(definition?.circuit_breaker) ?? '—',
            bulkheadText(definition?.bulkhead) ?? '—',
            phase.fallback === undefined ? '—' : 'yes',
            phase.compensate === undefined ? '—' : flow.transactional ? `yes, via ${code(phase.compensate.component.name)}` : 'declared, inactive (not transactional)',
          ];
        }),
      ),
    );
    out.push(`"Worst case" is every attempt timing out plus the longest backoffs (${calls.map((p) => `${p.id}: ${duration(maxBackoffMs(p.retry))}`).join(', ')}), capped by the phase and flow deadlines.`);
  }

  out.push('### Compensation and recovery');
  const saga: string[] = [];
  if (flow.transactional) {
    saga.push(
      compensable.length === 0
        ? '- The flow is transactional, but no phase declares a `compensate` request: nothing is undone on failure.'
        : `- The flow is **transactional**: when a phase fails, the completed phases among ${compensable.map((p) => code(p.id)).join(', ')} are undone newest first (each map item separately), each under its own retry policy. The execution ends ${code('compensated')}, or ${code('compensation_failed')} if an undo failed (listed in ${code('compensations')}).`,
    );
  } else {
    saga.push(`- The flow is not transactional: completed phases are not undone when a later one fails${compensable.length > 0 ? ` (the ${code('compensate')} requests of ${compensable.map((p) => code(p.id)).join(', ')} only run in transactional flows)` : ''}.`);
  }
  if (flow.recovery === undefined) {
    saga.push('- No recovery flow: a failure is answered as `application/problem+json` with the execution record under `execution`.');
  } else {
    const on = flow.recovery.on === undefined ? 'recoverable failures (timeouts, upstream 5xx/408/429, network errors, open circuits, full bulkheads)' : `failures with code ${[...flow.recovery.on].map(code).join(', ')}`;
    saga.push(
      `- Recovery flow **[${flow.recovery.flow}](${flow.recovery.flow}.md)** runs on ${on} with ${code('{ error, input, phases }')}. When it succeeds the caller gets ${code('200')} with its output and ${code('recovered: true')}; otherwise the original error is answered, with the recovery error as its ${code('cause')}.`,
    );
  }
  out.push(saga.join('\n'));

  out.push('**Error recovery patterns:**');
  out.push(fence('typescript', recoveryPattern(flow, breakers.length + bulkheads.length > 0)));
  return out.join('\n\n');
}

function recoveryPattern(flow: CompiledFlow, hasLimits: boolean): string {
  const lines = [
    `const response = await fetch(\`\${FLOWD_URL}/flows/${flow.name}/execute\`, {`,
    `  method: 'POST',`,
    `  headers: { 'content-type': 'application/json' },`,
    `  body: JSON.stringify({ input }),`,
    `});`,
    `const body = await response.json();`,
    `if (response.ok) {`,
    `  // body is the execution record${flow.recovery === undefined ? '' : `; body.recovered is true when ${flow.recovery.flow} answered instead`}`,
    `  return body.output;`,
    `}`,
    `switch (body.code) {`,
    `  case 'FLOWD_ERR_INPUT_INVALID':`,
    `    throw new Error(body.issues.map((i) => \`\${i.path} \${i.message}\`).join('; '));`,
  ];
  if (hasLimits) {
    lines.push(`  case 'FLOWD_ERR_CIRCUIT_OPEN':`, `  case 'FLOWD_ERR_BULKHEAD_FULL':`, `    return retryAfter(Number(response.headers.get('retry-after')));`);
  }
  lines.push(
    `  case 'FLOWD_ERR_FLOW_TIMEOUT':`,
    `  case 'FLOWD_ERR_COMPONENT_FAILED':`,
    `    // body.execution.phases shows which phase failed and after how many attempts${flow.transactional ? ';\n    // body.execution.compensations shows what was undone' : ''}`,
    `    return reportFailure(body.execution);`,
    `  default:`,
    `    throw new Error(\`\${body.code}: \${body.detail}\`);`,
    `}`,
  );
  return lines.join('\n');
}

export interface PerformanceInput {
  readonly figures: FlowFigures | undefined;
  /** false for committed documents: no live figures, a pointer to the live document instead. */
  readonly live: boolean;
}

/** Section 6: caching, concurrency and pooling as configured, plus this process's own figures. */
export function performance(flow: CompiledFlow, input: PerformanceInput): string {
  const entries = listPhases(flow);
  const calls = callPhases(flow);
  const cached = calls.filter((phase) => phase.cache !== undefined);
  const concurrent = entries.map((e) => e.phase).filter((p) => p.kind === 'parallel' || p.kind === 'map');
  const httpComponents = [...flow.components.values()].filter((c) => c.adapter === 'http');
  const bulkheads = [...flow.components.values()].filter((c) => c.bulkhead !== undefined);

  const caching =
    cached.length === 0
      ? 'no phase is cached; every execution calls its components.'
      : cached
          .map((p) => `${code(p.id)} for ${duration(p.cache!.ttlMs)} (in-process LRU, concurrent identical lookups share one call; ${code('options.enableCaching: false')} bypasses it)`)
          .join('; ');
  const parallel =
    concurrent.length === 0
      ? 'phases run one after another; nothing runs concurrently.'
      : concurrent
          .map((p) =>
            p.kind === 'map'
              ? `map ${code(p.id)} runs up to ${p.concurrency} items at once (at most ${p.maxItems} items)`
              : p.kind === 'parallel'
                ? `${code(p.id)} runs ${plural(p.branches.length, 'branch', 'branches')} (${p.branches.map((b) => code(b.name)).join(', ')}) concurrently`
                : '',
          )
          .join('; ') + `; ${code('options.parallelExecution: false')} runs them one at a time.`;
  const pooling = [
    httpComponents.length === 0
      ? 'no `http` component: no connection pool is used'
      : `${httpComponents.map((c) => code(c.name)).join(', ')} reuse keep-alive connections, one pool per origin (${code('HTTP_CONNECTIONS_PER_ORIGIN')}, default 64)`,
    ...bulkheads.map((c) => `${code(c.name)}: ${bulkheadText(componentDefinition(flow, c.name)?.bulkhead)}`),
  ].join('; ');

  const out = ['## 6. Performance Considerations', '### Optimization Strategies'];
  out.push(
    ['<!-- prettier-ignore -->', '!!! tip "Performance Optimizations"', `    - **Caching**: ${caching}`, `    - **Parallel processing**: ${parallel}`, `    - **Resource pooling**: ${pooling}.`].join('\n'),
  );

  const sequential = flow.phases.map((p) => code(p.id)).join(' → ');
  const longest = Math.max(0, ...calls.map((phase) => worstCaseMs(phase, flow)));
  const slowest = calls.filter((phase) => worstCaseMs(phase, flow) === longest);
  const maps = concurrent.filter((p) => p.kind === 'map');
  out.push('### Scalability Factors');
  out.push(
    [
      `- **Bottlenecks**: the top-level phases run in sequence (${sequential}), so the flow takes at least the sum of their times.${slowest.length === 0 ? '' : ` A call phase can take up to ${duration(longest)} when every attempt times out (${slowest.map((p) => code(p.id)).join(', ')}).`} The ${duration(flow.timeoutMs)} deadline bounds every execution.`,
      `- **Load handling**: executions are asynchronous in-process work; each replica runs up to ${code('MAX_INFLIGHT_EXECUTIONS')} at once and sheds the rest with ${code('503')}.${bulkheads.length === 0 ? '' : ' Bulkheads cap what each upstream receives.'}`,
      `- **Memory usage**: an execution holds its input, every phase output and one record per phase run${maps.length === 0 ? '' : ` — one per item for ${maps.map((p) => code(p.id)).join(', ')}, so memory grows with the number of items`}.`,
    ].join('\n'),
  );

  out.push('### Monitoring Points');
  out.push(liveFigures(flow, input));
  out.push(
    fence(
      'promql',
      [
        `# executions per second by outcome`,
        `sum by (outcome) (rate(flowd_executions_total{flow="${flow.name}"}[5m]))`,
        `# 95th percentile execution time`,
        `histogram_quantile(0.95, sum by (le) (rate(flowd_execution_duration_seconds_bucket{flow="${flow.name}"}[5m])))`,
        `# executions running now`,
        `flowd_active_executions{flow="${flow.name}"}`,
        `# retries per phase`,
        `sum by (phase) (rate(flowd_phase_retries_total{flow="${flow.name}"}[5m]))`,
      ].join('\n'),
    ),
  );
  return out.join('\n\n');
}

function liveFigures(flow: CompiledFlow, input: PerformanceInput): string {
  if (!input.live) {
    return `Live figures (executions, error ratio, p95 latency) come from the running service's own metrics: see ${code(`GET /flows/${flow.name}/doc`)}. The same series are on the metrics port (${code('GET /metrics')}):`;
  }
  const figures = input.figures;
  if (figures === undefined || figures.executions === 0) {
    return 'Live figures from this process: **no executions yet** since it started. The series to watch on the metrics port (`GET /metrics`):';
  }
  const outcomes = Object.entries(figures.byOutcome)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ');
  return [
    'Live figures from this process since it started:',
    '',
    table(
      ['Executions', 'Error ratio', 'p95 latency', 'By outcome'],
      [[String(figures.executions), `${(figures.errorRatio * 100).toFixed(1)}%`, figures.p95Ms === undefined ? '—' : `${figures.p95Ms.toFixed(1)} ms`, outcomes]],
    ),
    '',
    'The series behind them, on the metrics port (`GET /metrics`):',
  ].join('\n');
}
