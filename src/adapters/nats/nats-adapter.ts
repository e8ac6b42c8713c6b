import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { checkedHost, type EgressTargetOptions } from '../egress-target.js';
import { RetryableError, TerminalError, failureOf } from '../failures.js';
import { checkDestination, encodeBody, messageHeaders, parseBrokerUrl, parsePublish, publishRequestSchema, roundTripCheck } from '../messaging.js';
import { attemptTimedOut, untilAborted } from '../abortable.js';
import { LazyConnection } from '../lazy-connection.js';
import type { ComponentAdapter } from '../types.js';

export const NatsConfigSchema = z.strictObject({
  /** `nats://user:password@host:4222` (or `tls://`); put credentials in `${secret:NAME}`. */
  url: z.string().min(1),
  /** The subjects a phase may publish to; a JetStream stream must capture each. */
  subjects: z.array(z.string().min(1).max(255).regex(/^[^\s*>]+$/, 'a subject to publish to has no spaces or wildcards')).min(1).max(100),
});
export type NatsConfig = z.infer<typeof NatsConfigSchema>;

const RequestSchema = publishRequestSchema('subject');
/** How long a readiness check waits for the server's answer (/health/ready bounds it too). */
const READY_TIMEOUT_MS = 5000;

interface Open {
  readonly connection: NatsConnection;
  readonly js: JetStreamClient;
}

/**
 * Publishes JSON messages to NATS JetStream and waits for the stream's acknowledgement. The
 * execution's idempotency key is the `Nats-Msg-Id`, so the stream drops a duplicate published
 * by a retried or resumed phase within its duplicate window (the answer then says `duplicate: true`).
 */
export function createNatsAdapter(options: EgressTargetOptions = {}): ComponentAdapter<NatsConfig> {
  return {
    kind: 'nats',
    configSchema: NatsConfigSchema,
    create(config, init) {
      const url = parseBrokerUrl(config.url, ['nats', 'tls'], 4222);
      const fail = (error: unknown): Error => classifyNatsError(error, init.name);
      const shared = new LazyConnection<Open>(async (ended) => {
        const checked = await checkedHost(url.hostname, options, fail, 'NATS_CONNECTION');
        // With TLS the certificate is checked against the name, which a DNS rebinding cannot fake.
        const host = url.protocol === 'tls:' ? url.hostname : checked;
        const connection = await connect({
          servers: `${host.includes(':') ? `[${host}]` : host}:${url.portNumber}`,
          ...(url.username === '' ? {} : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }),
          ...(url.protocol === 'tls:' ? { tls: {} } : {}),
          timeout: 5000,
          maxReconnectAttempts: -1,
          // Only the server the URL names (the address EGRESS_ALLOW checked): the servers a
          // cluster advertises (INFO connect_urls) are not added, so a reconnect never goes there.
          ignoreClusterUpdates: true,
        });
        void connection.closed().then(ended);
        return { connection, js: jetstream(connection) };
      }, fail);
      const open = (): Promise<Open> => shared.get();
      return {
        async execute(raw, ctx) {
          const request = parsePublish(RequestSchema, raw, config.subjects, 'subject', init.name);
          const sentHeaders = messageHeaders(request, ctx);
          ctx.sent?.({ subject: request.destination, message_id: ctx.idempotencyKey, headers: sentHeaders, body: request.body });
          const opened = await untilAborted(open(), ctx.signal);
          const js = opened.js;
          const h = natsHeaders();
          for (const [name, value] of Object.entries(sentHeaders)) h.set(name, value);
          try {
            // A frozen connection would hold every retry until the client's pings notice (minutes):
            // an attempt that timed out drops it (the message id de-duplicates what got through).
            const ack = await untilAborted(js.publish(request.destination, encodeBody(request.body), { msgID: ctx.idempotencyKey, headers: h, timeout: 5000 }), ctx.signal, () => {
              if (attemptTimedOut(ctx.signal)) shared.discard(opened, (stuck) => void stuck.connection.close().catch(() => undefined));
            });
            return { acknowledged: true, stream: ack.stream, sequence: ack.seq, duplicate: ack.duplicate, message_id: ctx.idempotencyKey };
          } catch (error) {
            if (ctx.signal.aborted || failureOf(error) !== undefined) throw error;
            throw fail(error);
          }
        },
        checkRequest: (template) => checkDestination(template, 'subject', config.subjects),
        // A PING the server must answer; at most one unanswered (see roundTripCheck).
        ready: roundTripCheck(async () => {
          const { connection } = await open();
          await connection.flush();
        }, READY_TIMEOUT_MS),
        close: () => shared.close((opened) => opened.connection.drain()),
        describe: () => ({ target: `${url.protocol}//${url.hostname}:${url.portNumber}`, subjects: config.subjects }),
      };
    },
  };
}

function classifyNatsError(error: unknown, component: string): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; name?: unknown; cause?: { message?: unknown } };
  const message = typeof e.message === 'string' ? e.message : String(error);
  const cause = typeof e.cause?.message === 'string' ? e.cause.message : '';
  // Nothing answers a JetStream publish on a subject no stream captures ("no responders", reported as JetStreamNotEnabled).
  if (e.name === 'JetStreamNotEnabled' || /no responders/i.test(`${message} ${cause}`)) {
    return new TerminalError(`component "${component}": no JetStream stream captures this subject (create a stream for it)`, { reason: 'NATS_NO_STREAM', detail: { message }, cause: error });
  }
  if (/authorization|permission/i.test(message)) {
    return new TerminalError(`component "${component}": NATS refused access (${message})`, { reason: 'NATS_ACCESS_REFUSED', detail: { message }, cause: error });
  }
  if (/timeout/i.test(message)) {
    return new RetryableError(`component "${component}": no acknowledgement from JetStream in time`, { category: 'timeout', reason: 'NATS_ACK_TIMEOUT', detail: { message }, cause: error });
  }
  return new RetryableError(`component "${component}": NATS is unreachable or closed the connection (${message})`, { category: 'network', reason: 'NATS_CONNECTION', detail: { message }, cause: error });
}
