import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';
import { checkedHost, type EgressTargetOptions } from '../egress-target.js';
import { RetryableError, TerminalError, failureOf } from '../failures.js';
import { checkDestination, encodeBody, messageHeaders, parseBrokerUrl, parsePublish, publishRequestSchema, roundTripCheck } from '../messaging.js';
import { attemptTimedOut, untilAborted } from '../abortable.js';
import { LazyConnection } from '../lazy-connection.js';
import type { ComponentAdapter } from '../types.js';

export const MqttConfigSchema = z.strictObject({
  /** `mqtt://user:password@host:1883` (or `mqtts://`); put credentials in `${secret:NAME}`. */
  url: z.string().min(1),
  /** The topics a phase may publish to. */
  topics: z.array(z.string().min(1).max(1024).regex(/^[^#+]+$/, 'a topic to publish to has no wildcards (+ or #)')).min(1).max(100),
  /** Retain the last message on each topic. Default false. */
  retain: z.boolean().optional(),
});
export type MqttConfig = z.infer<typeof MqttConfigSchema>;

const RequestSchema = publishRequestSchema('topic');
/**
 * Readiness unsubscribes from this topic, which flowd never subscribes to: the broker must answer
 * (UNSUBACK, "no subscription existed") and nothing changes on it, no message is published.
 */
export const MQTT_READINESS_TOPIC = 'flowd/readiness';
/** How long a readiness check waits for the broker's answer (/health/ready bounds it too). */
const READY_TIMEOUT_MS = 5000;

/**
 * Publishes JSON messages over MQTT 5 with QoS 1: a phase succeeds when the broker's PUBACK
 * arrives. The execution's idempotency key travels as the `idempotency-key` user property (and
 * the correlation data), so subscribers can drop the duplicates QoS 1 allows.
 */
export function createMqttAdapter(options: EgressTargetOptions = {}): ComponentAdapter<MqttConfig> {
  return {
    kind: 'mqtt',
    configSchema: MqttConfigSchema,
    create(config, init) {
      const url = parseBrokerUrl(config.url, ['mqtt', 'mqtts'], 1883);
      const fail = (error: unknown): Error => classifyMqttError(error, init.name);
      const shared = new LazyConnection<MqttClient>(async (ended) => {
        const checked = await checkedHost(url.hostname, options, fail, 'MQTT_CONNECTION');
        const client = await mqtt.connectAsync({
          protocol: url.protocol === 'mqtts:' ? 'mqtts' : 'mqtt',
          host: url.protocol === 'mqtts:' ? url.hostname : checked,
          port: url.portNumber,
          protocolVersion: 5,
          connectTimeout: 5000,
          reconnectPeriod: 0,
          ...(url.username === '' ? {} : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }),
        });
        const end = (): void => {
          ended();
          client.end(true);
        };
        client.on('close', end);
        client.on('error', end);
        return client;
      }, fail);
      const open = (): Promise<MqttClient> => shared.get();
      // One round trip the broker must answer, so a hung broker fails readiness; at most one unanswered.
      const ready = roundTripCheck(async () => {
        const client = await open();
        await client.unsubscribeAsync(MQTT_READINESS_TOPIC).catch((error: unknown) => {
          throw failureOf(error) === undefined ? fail(error) : error;
        });
      }, READY_TIMEOUT_MS);
      return {
        async execute(raw, ctx) {
          const request = parsePublish(RequestSchema, raw, config.topics, 'topic', init.name);
          const userProperties = messageHeaders(request, ctx);
          ctx.sent?.({ topic: request.destination, qos: 1, message_id: ctx.idempotencyKey, user_properties: userProperties, body: request.body });
          const client = await untilAborted(open(), ctx.signal);
          try {
            const packet = await untilAborted(
              client.publishAsync(request.destination, encodeBody(request.body), {
                qos: 1,
                retain: config.retain ?? false,
                properties: { contentType: 'application/json', userProperties, correlationData: Buffer.from(ctx.idempotencyKey) },
              }),
              ctx.signal,
              // A frozen connection would hold every retry until the keepalive notices: an attempt that timed out drops it.
              () => {
                if (attemptTimedOut(ctx.signal)) shared.discard(client, (stuck) => stuck.end(true));
              },
            );
            return { acknowledged: true, topic: request.destination, packet_id: packet?.messageId, message_id: ctx.idempotencyKey };
          } catch (error) {
            if (ctx.signal.aborted || failureOf(error) !== undefined) throw error;
            throw fail(error);
          }
        },
        checkRequest: (template) => checkDestination(template, 'topic', config.topics),
        ready,
        close: () => shared.close((client) => client.endAsync()),
        describe: () => ({ target: `${url.protocol}//${url.hostname}:${url.portNumber}`, topics: config.topics }),
      };
    },
  };
}

function classifyMqttError(error: unknown, component: string): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  // MQTT 5 reason codes: 0x87 not authorized, 0x86 bad user name or password, 0x90 topic name invalid.
  if (e.code === 135 || e.code === 134 || /not authori[sz]ed|bad user/i.test(message)) {
    return new TerminalError(`component "${component}": the MQTT broker refused access (${message})`, { reason: 'MQTT_ACCESS_REFUSED', detail: { message }, cause: error });
  }
  if (e.code === 144) return new TerminalError(`component "${component}": the broker refused the topic (${message})`, { reason: 'MQTT_TOPIC_REFUSED', detail: { message }, cause: error });
  return new RetryableError(`component "${component}": the MQTT broker is unreachable or closed the connection (${message})`, { category: 'network', reason: 'MQTT_CONNECTION', detail: { message }, cause: error });
}
