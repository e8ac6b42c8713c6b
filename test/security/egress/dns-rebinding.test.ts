/**
 * DNS rebinding: a hostname that first resolves to a public address and then to
 * 127.0.0.1. The connector resolves once per connection, checks every answer, and
 * dials the checked IP, so the second answer is checked too and never slips through.
 *
 * 93.184.216.34 below is only ever a string: the recording connector dials the local
 * test server in its place, and the assertions prove which address was approved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type Dispatcher } from 'undici';
import { EgressDeniedError } from '../../../src/errors.js';
import { createEgressDispatcher } from '../../../src/adapters/http/egress/dispatcher.js';
import { createEgressPolicy } from '../../../src/adapters/http/egress/ip-policy.js';
import { createRebindingTestResolver } from '../../../src/adapters/http/egress/lookup.js';
import { recordingConnector, startServer, type TestServer } from './helpers.js';

const PUBLIC = '93.184.216.34';
let server: TestServer;
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  // connection: close makes every request open (and so check) a new connection.
  server = await startServer((_req, res) => res.writeHead(200, { connection: 'close' }).end('ok'));
});
afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.destroy()));
  await server.close();
});

function setup(answers: ReadonlyArray<readonly string[]>) {
  const lookup = createRebindingTestResolver(answers);
  const connector = recordingConnector(server.port);
  const dispatcher = createEgressDispatcher({ policy: createEgressPolicy({ allow: [] }), lookup, connector });
  dispatchers.push(dispatcher);
  return { lookup, connector, dispatcher, url: `http://rebind.test:${server.port}/` };
}

describe('DNS rebinding', () => {
  it('public first, then 127.0.0.1: the second connection is refused', async () => {
    const { lookup, connector, dispatcher, url } = setup([[PUBLIC], ['127.0.0.1']]);

    const first = await request(url, { dispatcher });
    expect(first.statusCode).toBe(200);
    await first.body.dump();
    // The connector was handed the IP that was checked, not the name: no second lookup.
    expect(connector.dialled).toEqual([PUBLIC]);

    await expect(request(url, { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    expect(lookup.calls).toEqual(['rebind.test', 'rebind.test']);
    expect(connector.dialled).toEqual([PUBLIC]);
  });

  it('a name answering both a public address and 127.0.0.1 is refused outright', async () => {
    const { connector, dispatcher, url } = setup([[PUBLIC, '127.0.0.1']]);
    await expect(request(url, { dispatcher })).rejects.toThrow(/127\.0\.0\.1.*resolved from "rebind\.test"/);
    expect(connector.dialled).toEqual([]);
  });

  it('a name answering the metadata address via IPv4-mapped IPv6 is refused', async () => {
    const { connector, dispatcher, url } = setup([['::ffff:169.254.169.254']]);
    await expect(request(url, { dispatcher })).rejects.toBeInstanceOf(EgressDeniedError);
    expect(connector.dialled).toEqual([]);
  });

  it('refusal error carries the resolved addresses for the log', async () => {
    const { dispatcher, url } = setup([['10.1.2.3']]);
    const error = (await request(url, { dispatcher }).catch((e: unknown) => e)) as EgressDeniedError;
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect(error.details).toMatchObject({ hostname: 'rebind.test', addresses: ['10.1.2.3'] });
  });

  it('a lookup failure stays a network error, not an egress refusal', async () => {
    const { dispatcher, url } = setup([[]]);
    const error = await request(url, { dispatcher }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(EgressDeniedError);
    expect((error as { code?: string }).code).toBe('ENOTFOUND');
  });
});
