/**
 * A payments service that misbehaves on purpose, for trying flowd's resilience by hand (README,
 * "Resilience and transactions"). It serves what the order-fulfillment flow's `payments`
 * component calls, on http://127.0.0.1:9999 (or --port):
 *
 *   POST /charges, POST /charges/priority   per mode (below)
 *   GET /fraud-score                         200 { "score": 0.07 }
 *   POST /refunds/*                          200 { "refunded": true }
 *
 * Modes:
 *   fail-twice   the first two charges answer 503, then every charge succeeds (restart to replay)
 *   always-fail  every charge answers 503
 *   hang         charges never answer
 *   ok           every charge succeeds
 *
 * Run it: npx tsx examples/payment-upstream.ts fail-twice [--port 9999]
 * It prints one line per call: method, path, outcome, status, idempotency-key.
 */
import { pathToFileURL } from 'node:url';
import { failTimes, ok, startFaultUpstream, type FaultStep, type FaultUpstream, type UpstreamCall } from '../test/helpers/fault-upstream.js';

export type PaymentMode = 'fail-twice' | 'always-fail' | 'hang' | 'ok';
export const PAYMENT_MODES: readonly PaymentMode[] = ['fail-twice', 'always-fail', 'hang', 'ok'];

const charged: FaultStep = {
  status: 201,
  body: (call: UpstreamCall) => {
    const order = (call.body as { order?: unknown } | undefined)?.order;
    return { charge_id: `ch-${String(order)}`, lane: call.path.endsWith('/priority') ? 'priority' : 'standard' };
  },
};

export function chargeScript(mode: PaymentMode): FaultStep[] {
  switch (mode) {
    case 'fail-twice':
      return [...failTimes(2, { status: 503, body: { error: 'payments temporarily unavailable' } }), charged];
    case 'always-fail':
      return [{ status: 503, body: { error: 'payments unavailable' } }];
    case 'hang':
      return [{ hang: true }];
    case 'ok':
      return [charged];
  }
}

export async function startPaymentUpstream(mode: PaymentMode, options: { port?: number; log?: (line: string) => void } = {}): Promise<FaultUpstream> {
  const log = options.log;
  const upstream = await startFaultUpstream({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(log === undefined
      ? {}
      : {
          onCallEnd: (call: UpstreamCall) =>
            log(`${call.method} ${call.path} → ${call.outcome}${call.outcome === 'answered' ? ` ${call.step.status ?? 200}` : ''}  idempotency-key=${String(call.headers['idempotency-key'] ?? '-')}`),
        }),
  });
  upstream.script('POST /charges', chargeScript(mode));
  upstream.script('POST /charges/priority', chargeScript(mode));
  upstream.script('GET /fraud-score', ok({ score: 0.07 }));
  upstream.script('POST /refunds/*', ok({ refunded: true }));
  return upstream;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const mode = (args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg)) ?? 'fail-twice') as PaymentMode;
  if (!PAYMENT_MODES.includes(mode)) {
    console.error(`unknown mode "${mode}"; one of: ${PAYMENT_MODES.join(', ')}`);
    process.exit(2);
  }
  const portIndex = args.indexOf('--port');
  const port = portIndex === -1 ? 9999 : Number(args[portIndex + 1]);
  const upstream = await startPaymentUpstream(mode, { port, log: (line) => console.log(line) });
  console.log(`payments (${mode}) listening on ${upstream.url}`);
  const stop = (): void => void upstream.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
