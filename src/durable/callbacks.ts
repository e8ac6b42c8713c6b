import { setTimeout as delay } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { createEgressDispatcher, createEgressPolicy, normalizeHostname, parseAllowList } from '../adapters/http/egress/index.js';
import { cidrContains, parseCidr, parseIp } from '../adapters/http/egress/ip-address.js';
import type { FlowLogger } from '../engine/logger.js';
import { assertNestingWithin } from '../limits/json-nesting.js';
import type { ExecutionRecord } from '../engine/record.js';

const ATTEMPTS = 3;

/**
 * Completion callbacks of async executions: a POST of the final record to a URL the caller gave,
 * only to hosts listed in CALLBACK_ALLOW (exact host names, IPs or CIDRs). Connections go through
 * the egress guard, so a listed name that resolves to a private address is refused unless the
 * address is listed too. Delivery is best effort: 3 attempts by the replica that finished the
 * execution; a crash between the end and the delivery loses the callback (poll the Location then).
 */
export class CallbackSender {
  readonly #hosts: Set<string>;
  readonly #cidrs: ReturnType<typeof parseCidr>[];
  readonly #timeoutMs: number;
  readonly #logger: FlowLogger;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: { allow: string; timeoutMs: number; logger: FlowLogger }) {
    const entries = parseAllowList(options.allow, 'CALLBACK_ALLOW');
    this.#hosts = new Set(entries.filter((entry) => parseCidr(entry) === undefined));
    this.#cidrs = entries.map((entry) => parseCidr(entry)).filter((cidr) => cidr !== undefined);
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#dispatcher = entries.length === 0 ? undefined : createEgressDispatcher({ policy: createEgressPolicy({ allow: entries }), connections: 4 });
  }

  get enabled(): boolean {
    return this.#dispatcher !== undefined;
  }

  /** Why `url` may not be used as a callback, or undefined when it may. */
  refuse(url: string): string | undefined {
    if (!this.enabled) return 'callbacks are disabled (set CALLBACK_ALLOW to the hosts that may receive them)';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'callbackUrl is not a URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'callbackUrl must be http or https';
    if (parsed.username !== '' || parsed.password !== '') return 'callbackUrl must not carry credentials';
    const host = normalizeHostname(parsed.hostname);
    const ip = parseIp(host);
    const allowed = ip === undefined ? this.#hosts.has(host) : this.#cidrs.some((cidr) => cidr !== undefined && cidrContains(cidr, ip));
    return allowed ? undefined : `callbackUrl host "${host}" is not in CALLBACK_ALLOW`;
  }

  /** Sends in the background; never throws. */
  send(url: string, record: ExecutionRecord): void {
    if (this.refuse(url) !== undefined) return;
    const sending = this.#deliver(url, record).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await this.#dispatcher?.close();
  }

  async #deliver(url: string, record: ExecutionRecord): Promise<void> {
    let body: string;
    try {
      assertNestingWithin(record, 'the callback record');
      body = JSON.stringify(record);
    } catch (error) {
      this.#logger.error({ err: error, executionId: record.executionId }, 'callback not sent: its record cannot be serialised');
      return;
    }
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: this.#dispatcher!,
          headers: {
            'content-type': 'application/json',
            'flowd-execution-id': record.executionId,
            'idempotency-key': `${record.executionId}:callback`,
          },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await response.body.dump();
        if (response.statusCode < 300) return;
        if (response.statusCode < 500 && response.statusCode !== 408 && response.statusCode !== 429) {
          this.#logger.warn({ executionId: record.executionId, status: response.statusCode }, 'callback refused by its receiver');
          return;
        }
      } catch (error) {
        if (attempt === ATTEMPTS) this.#logger.warn({ executionId: record.executionId, err: error }, 'callback could not be delivered');
      }
      if (attempt < ATTEMPTS) await delay(500 * 2 ** (attempt - 1));
    }
  }
}
