import amqp from 'amqplib';
import { z } from 'zod';
import { checkedHost, type EgressTargetOptions } from '../egress-target.js';
import { RetryableError, TerminalError, failureOf } from '../failures.js';
import { checkDestination, encodeBody, messageHeaders, parseBrokerUrl, parsePublish, publishRequestSchema, roundTripCheck } from '../messaging.js';
import { attemptTimedOut, untilAborted } from '../abortable.js';
import { LazyConnection } from '../lazy-connection.js';
import type { ComponentAdapter } from '../types.js';

export const AmqpConfigSchema = z.strictObject({
  /** `amqp://user:password@host:5672/vhost` (or `amqps://`); put the password in `${secret:NAME}`. */
  url: z.string().min(1),
  /** The exchange every message goes to; it must exist (flowd declares nothing). */
  exchange: z.string().min(1).max(255),
  /** The routing keys a phase may publish with. */
  routing_keys: z.array(z.string().min(1).max(255)).min(1).max(100),
  /** Mark messages persistent (delivery mode 2). Default true. */
  persistent: z.boolean().optional(),
});
export type AmqpConfig = z.infer<typeof AmqpConfigSchema>;

const RequestSchema = publishRequestSchema('routing_key');
/** How long a readiness check waits for the broker's answer (/health/ready bounds it too). */
const READY_TIMEOUT_MS = 5000;

interface Open {
  readonly connection: amqp.ChannelModel;
  readonly channel: amqp.ConfirmChannel;
}

/**
 * Publishes JSON messages to a RabbitMQ (AMQP 0-9-1) exchange on a confirm channel: a phase
 * succeeds only when the broker has confirmed the message. The execution's idempotency key is
 * the message id (and an `idempotency-key` header). One connection per component, opened at
 * the first call and again after it is lost or closed.
 */
export function createAmqpAdapter(options: EgressTargetOptions = {}): ComponentAdapter<AmqpConfig> {
  return {
    kind: 'amqp',
    configSchema: AmqpConfigSchema,
    create(config, init) {
      const url = parseBrokerUrl(config.url, ['amqp', 'amqps'], 5672);
      const fail = (error: unknown): Error => classifyAmqpError(error, init.name, config.exchange);
      const shared = new LazyConnection<Open>(async (ended) => {
        const hostname = await checkedHost(url.hostname, options, fail, 'AMQP_CONNECTION');
        const connection = await amqp.connect(
          {
            protocol: url.protocol.slice(0, -1),
            hostname,
            port: url.portNumber,
            username: decodeURIComponent(url.username || 'guest'),
            password: decodeURIComponent(url.password || 'guest'),
            vhost: decodeURIComponent(url.pathname.slice(1)) || '/',
            heartbeat: 30,
          },
          { servername: url.hostname, timeout: 5000 },
        );
        connection.on('error', ended);
        connection.on('close', ended);
        try {
          const channel = await connection.createConfirmChannel();
          // A channel the broker closed (a 404 on a deleted exchange…) leaves the connection unused: close it too.
          const drop = (): void => {
            ended();
            void connection.close().catch(() => undefined);
          };
          channel.on('error', drop);
          channel.on('close', drop);
          await channel.checkExchange(config.exchange);
          return { connection, channel };
        } catch (error) {
          await connection.close().catch(() => undefined);
          throw error;
        }
      }, fail);
      const open = (): Promise<Open> => shared.get();
      // Readiness asks the broker about the exchange on the open channel (one round trip), so a
      // hung broker or a deleted exchange fails it; at most one such question is unanswered.
      const ready = roundTripCheck(async () => {
        const { channel } = await open();
        await channel.checkExchange(config.exchange).catch((error: unknown) => {
          throw failureOf(error) === undefined ? fail(error) : error;
        });
      }, READY_TIMEOUT_MS);
      return {
        async execute(raw, ctx) {
          const request = parsePublish(RequestSchema, raw, config.routing_keys, 'routing_key', init.name);
          const headers = messageHeaders(request, ctx);
          ctx.sent?.({ exchange: config.exchange, routing_key: request.destination, message_id: ctx.idempotencyKey, headers, body: request.body });
          const opened = await untilAborted(open(), ctx.signal);
          const channel = opened.channel;
          const confirmed = new Promise<void>((resolve, reject) => {
            const accepted = channel.publish(
              config.exchange,
              request.destination,
              encodeBody(request.body),
              { messageId: ctx.idempotencyKey, headers, contentType: 'application/json', persistent: config.persistent ?? true, timestamp: Math.floor(Date.now() / 1000) },
              (error) => (error === null || error === undefined ? resolve() : reject(new RetryableError(`component "${init.name}": the broker did not confirm the message (nack)`, { reason: 'AMQP_NACK', cause: error }))),
            );
            void accepted;
          });
          try {
            // A frozen connection (the broker hung, a half-open TCP connection) would hold every
            // retry until the heartbeat notices (a minute): an attempt that timed out drops it.
            await untilAborted(confirmed, ctx.signal, () => {
              if (attemptTimedOut(ctx.signal)) shared.discard(opened, endStuck);
            });
          } catch (error) {
            if (ctx.signal.aborted || failureOf(error) !== undefined) throw error;
            throw fail(error);
          }
          return { confirmed: true, exchange: config.exchange, routing_key: request.destination, message_id: ctx.idempotencyKey };
        },
        checkRequest: (template) => checkDestination(template, 'routing_key', config.routing_keys),
        ready,
        close: () => shared.close((opened) => opened.connection.close()),
        describe: () => ({ target: `${url.protocol}//${url.hostname}:${url.portNumber}`, exchange: config.exchange, routing_keys: config.routing_keys }),
      };
    },
  };
}

/** A connection a publish timed out on: its Close handshake cannot finish if it is frozen, so the socket is destroyed too. */
function endStuck(stuck: Open): void {
  void stuck.connection.close().catch(() => undefined);
  (stuck.connection as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
}

function classifyAmqpError(error: unknown, component: string, exchange: string): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (e.code === 404 || /NOT_FOUND/.test(message)) {
    return new TerminalError(`component "${component}": exchange "${exchange}" does not exist on the broker (declare it there; flowd declares nothing)`, { reason: 'AMQP_NO_EXCHANGE', detail: { message }, cause: error });
  }
  if (e.code === 403 || /ACCESS_REFUSED|ACCESS-REFUSED/.test(message)) {
    return new TerminalError(`component "${component}": the broker refused access (${message})`, { reason: 'AMQP_ACCESS_REFUSED', detail: { message }, cause: error });
  }
  return new RetryableError(`component "${component}": the broker is unreachable or closed the connection (${message})`, { category: 'network', reason: 'AMQP_CONNECTION', detail: { message }, cause: error });
}
