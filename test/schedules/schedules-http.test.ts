import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

const FLOW = `
name: nightly
input:
  type: object
  required: [day]
  properties:
    day: { type: string }
phases:
  - { id: a, component: transform, request: "{% input.day %}" }
schedules:
  - name: nightly
    cron: "0 2 * * *"
    timezone: Europe/Paris
    input: { day: yesterday }
    missed: run_once
`;

let dir: string;
const services: TestService[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowd-schedules-'));
  await writeFile(join(dir, 'nightly.yaml'), FLOW);
});
afterAll(async () => {
  for (const service of services) await service.close();
  for (const each of [dir, ...dirs]) await rm(each, { recursive: true, force: true });
});

/** The next 02:00 in Paris after `now`, as UTC ISO (Paris is UTC+1 or UTC+2). */
function isNextParisTwoAm(iso: string, before: number): boolean {
  const at = Date.parse(iso);
  const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hour12: false }).format(at);
  return paris === '02:00' && at > before && at <= before + 25 * 3600_000;
}

describe.each(['on', 'off'])('GET /flows/{name} with SCHEDULES=%s', (schedules) => {
  it('lists the schedules with their next occurrence', async () => {
    const data = await mkdtemp(join(tmpdir(), 'flowd-schedules-data-'));
    dirs.push(data);
    const service = await startTestService({ FLOWS_DIR: dir, STORE: 'sqlite', DATA_DIR: data, SCHEDULES: schedules });
    services.push(service);
    const before = Date.now();
    const response = await service.app.inject({ method: 'GET', url: '/flows/nightly' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ schedules: { nextOccurrence: string }[] }>();
    expect(body.schedules).toEqual([
      { name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', missed: 'run_once', input: { day: 'yesterday' }, nextOccurrence: expect.any(String) },
    ]);
    expect(isNextParisTwoAm(body.schedules[0]!.nextOccurrence, before - 1000)).toBe(true);
  });
});
