import type { CompiledFlow } from './compiled.js';

/** How long `/health/ready` waits for one required component's readiness check. */
export const READINESS_TIMEOUT_MS = 2_000;

/**
 * The required components (`required: true`) of the given flows whose readiness check fails or
 * does not answer within `timeoutMs`, as `flow/component` names. Checks run in parallel.
 */
export async function unavailableComponents(flows: Iterable<CompiledFlow>, timeoutMs = READINESS_TIMEOUT_MS): Promise<string[]> {
  const checks: Promise<string | undefined>[] = [];
  for (const flow of flows) {
    for (const component of flow.components.values()) {
      const { instance } = component;
      if (!component.required || instance.ready === undefined) continue;
      checks.push(withTimeout(instance.ready(), timeoutMs).then(
        () => undefined,
        () => `${flow.name}/${component.name}`,
      ));
    }
  }
  return (await Promise.all(checks)).filter((name): name is string => name !== undefined);
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('readiness check timed out')), ms);
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
