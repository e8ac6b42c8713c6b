/**
 * SECURITY.md rule 4: loopback and metadata addresses in every spelling the WHATWG URL
 * parser accepts are refused by default, before any socket is opened, and reachable
 * once the operator allows them explicitly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { EgressDeniedError } from '../../../src/errors.js';
import { createEgressDispatcher } from '../../../src/adapters/http/egress/dispatcher.js';
import { stripBrackets } from '../../../src/adapters/http/egress/ip-address.js';
import { createEgressPolicy } from '../../../src/adapters/http/egress/ip-policy.js';
import { createRebindingTestResolver } from '../../../src/adapters/http/egress/lookup.js';
import { recordingConnector, startServer, type TestServer } from './helpers.js';

let server: TestServer;
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  server = await startServer((_req, res) => res.end('ok'));
});
afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.destroy()));
  await server.close();
});

/** [label, URL with PORT placeholder, the IP the connector must approve, the allow entry that opens it] */
const LOOPBACK: ReadonlyArray<readonly [string, string, string, string]> = [
  ['dotted quad', 'http://127.0.0.1:PORT/', '127.0.0.1', '127.0.0.1'],
  ['decimal integer', 'http://2130706433:PORT/', '127.0.0.1', '127.0.0.1'],
  ['hex short form', 'http://0x7f.1:PORT/', '127.0.0.1', '127.0.0.1'],
  ['octal', 'http://0177.0.0.1:PORT/', '127.0.0.1', '127.0.0.1'],
  ['short form', 'http://127.1:PORT/', '127.0.0.1', '127.0.0.1'],
  ['trailing dot on IP', 'http://127.0.0.1.:PORT/', '127.0.0.1', '127.0.0.1'],
  ['elsewhere in 127/8', 'http://127.42.0.7:PORT/', '127.42.0.7', '127.0.0.0/8'],
  ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]:PORT/', '::ffff:7f00:1', '127.0.0.1'],
  ['IPv4-mapped IPv6 in hex', 'http://[::ffff:7f00:1]:PORT/', '::ffff:7f00:1', '127.0.0.1'],
  ['IPv4-mapped IPv6 long form', 'http://[0:0:0:0:0:ffff:7f00:1]:PORT/', '::ffff:7f00:1', '127.0.0.1'],
  ['IPv6 loopback', 'http://[::1]:PORT/', '::1', '::1'],
  ['IPv6 unspecified', 'http://[::]:PORT/', '::', '::'],
  ['zero', 'http://0:PORT/', '0.0.0.0', '0.0.0.0'],
  ['localhost', 'http://localhost:PORT/', '127.0.0.1', 'localhost'],
  ['localhost with trailing dot', 'http://localhost.:PORT/', '127.0.0.1', 'localhost'],
  ['LOCALHOST upper case', 'http://LOCALHOST:PORT/', '127.0.0.1', 'localhost'],
];

const METADATA: ReadonlyArray<readonly [string, string, string, string]> = [
  ['dotted quad', 'http://169.254.169.254:PORT/latest/meta-data/', '169.254.169.254', '169.254.169.254'],
  ['decimal integer', 'http://2852039166:PORT/', '169.254.169.254', '169.254.169.254'],
  ['hex integer', 'http://0xA9FEA9FE:PORT/', '169.254.169.254', '169.254.169.254'],
  ['octal', 'http://0251.0376.0251.0376:PORT/', '169.254.169.254', '169.254.169.254'],
  ['short form', 'http://169.254.43518:PORT/', '169.254.169.254', '169.254.169.254'],
  ['trailing dot', 'http://169.254.169.254.:PORT/', '169.254.169.254', '169.254.169.254'],
  ['IPv4-mapped IPv6', 'http://[::ffff:169.254.169.254]:PORT/', '::ffff:a9fe:a9fe', '169.254.169.254'],
  ['NAT64', 'http://[64:ff9b::a9fe:a9fe]:PORT/', '64:ff9b::a9fe:a9fe', '64:ff9b::a9fe:a9fe'],
  ['AWS IPv6 metadata', 'http://[fd00:ec2::254]:PORT/', 'fd00:ec2::254', 'fd00:ec2::254'],
  ['ECS task metadata', 'http://169.254.170.2:PORT/', '169.254.170.2', '169.254.0.0/16'],
];

const ALL = [...LOOPBACK.map((c) => ['loopback', ...c] as const), ...METADATA.map((c) => ['metadata', ...c] as const)];

const withPort = (url: string, port: number): string => url.replace('PORT', String(port));

describe('policy check on the WHATWG-normalised host', () => {
  const policy = createEgressPolicy({ allow: [] });

  it.each(ALL.filter(([, , url]) => !/localhost/i.test(url)))('%s %s is denied', (_kind, _label, url, expected) => {
    const host = stripBrackets(new URL(withPort(url, 80)).hostname);
    expect(host).toBe(expected);
    const decision = policy.checkAddress(host);
    expect(decision.allowed).toBe(false);
  });
});

describe('egress dispatcher, default policy (nothing allowed)', () => {
  it.each(ALL)('%s %s (%s) is refused before any socket is opened', async (_kind, _label, url) => {
    const connector = recordingConnector(); // refuses any dial
    const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [] }), connector });
    dispatchers.push(dispatcher);

    const error: unknown = await request(withPort(url, server.port), { dispatcher }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect((error as EgressDeniedError).code).toBe('FLOWD_ERR_EGRESS_DENIED');
    expect((error as EgressDeniedError).retryable).toBe(false);
    expect(connector.dialled).toEqual([]);
  });

  it('names the metadata endpoint in the refusal', async () => {
    const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [] }), connector: recordingConnector() });
    dispatchers.push(dispatcher);
    await expect(request('http://0xA9FEA9FE/', { dispatcher })).rejects.toThrow(/169\.254\.169\.254.*cloud metadata/);
  });
});

describe('egress dispatcher, explicitly allowed', () => {
  it.each(ALL)('%s %s (%s) is reached once allowed', async (_kind, _label, url, expected, allow) => {
    // The recording connector dials the local server whatever address was approved.
    const connector = recordingConnector(server.port);
    // Names resolve through a scripted resolver so the expected address does not depend
    // on this machine's /etc/hosts (localhost may list ::1 first elsewhere).
    const lookup = createRebindingTestResolver([['127.0.0.1']]);
    const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [allow] }), connector, lookup });
    dispatchers.push(dispatcher);

    const response = await request(withPort(url, server.port), { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('ok');
    // The connector is handed the approved IP, never a name to resolve again.
    expect(connector.dialled).toEqual([expected]);
    // Names are looked up once, without the trailing root dot.
    expect(lookup.calls).toEqual(/localhost/i.test(url) ? ['localhost'] : []);
  });

  it('allowing one loopback address does not open its neighbours', async () => {
    const dispatcher = createEgressDispatcher({
      policy: createEgressPolicy({ allow: ['127.0.0.1'] }),
      connector: recordingConnector(),
    });
    dispatchers.push(dispatcher);
    await expect(request('http://127.0.0.2/', { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    await expect(request('http://[::1]/', { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    await expect(request('http://[64:ff9b::7f00:1]/', { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
  });
});

describe('an allowed loopback server over a real socket (default connector and resolver)', () => {
  it.each([
    ['127.0.0.1', 'http://127.0.0.1:PORT/hello'],
    ['127.0.0.1', 'http://2130706433:PORT/hello'],
    ['localhost', 'http://localhost:PORT/hello'],
    ['localhost', 'http://localhost.:PORT/hello'],
  ])('allow=%s reaches %s', async (allow, url) => {
    const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [allow] }) });
    dispatchers.push(dispatcher);
    const response = await request(withPort(url, server.port), { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('ok');
    expect(server.requests.at(-1)?.url).toBe('/hello');
  });

  it('the same server is refused without the allow entry', async () => {
    const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [] }) });
    dispatchers.push(dispatcher);
    const before = server.requests.length;
    await expect(request(`${server.origin}/hello`, { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    await expect(request(`http://localhost:${server.port}/hello`, { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    expect(server.requests.length).toBe(before);
  });
});
