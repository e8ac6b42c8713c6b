import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { DEV_DEFAULTS } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config/env.js';
import { createService, type Service } from '../../src/service.js';

const execFileAsync = promisify(execFile);
const REPO = process.cwd();
const SH_TIMEOUT_MS = 30_000;

/**
 * What the code blocks of one page run against: a project directory (a copy of the example flows
 * in `flows/`, this repository's `scripts/` and `examples/`), `flowd` on the PATH (the CLI from the
 * sources; blocks say `npx flowd`), and the service a `serves` block starts — on free ports, which
 * replace 3000 and 9464 in what the blocks send.
 */
export class DocSession {
  readonly dir: string;
  #service: Service | undefined;
  #ports = { api: 0, metrics: 0 };

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'flowd-doc-'));
    cpSync(path.join(REPO, 'flows'), path.join(this.dir, 'flows'), { recursive: true });
    for (const shared of ['scripts', 'examples']) symlinkSync(path.join(REPO, shared), path.join(this.dir, shared));
    mkdirSync(path.join(this.dir, 'bin'));
    const tsx = path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    writeFileSync(path.join(this.dir, 'bin', 'flowd'), `#!/bin/sh\nexec "${process.execPath}" --import "file://${tsx}" "${path.join(REPO, 'src', 'cli', 'main.ts')}" "$@"\n`);
    chmodSync(path.join(this.dir, 'bin', 'flowd'), 0o755);
  }

  /**
   * Serves the project's flows as `[VAR=value …] npm start | npm run dev | npx flowd serve|dev`
   * would (`dev`: its defaults; executions in memory either way), replacing a service already running.
   */
  async serve(env: Record<string, string>, dev: boolean): Promise<void> {
    await this.#stop();
    const fullEnv: Record<string, string> = {
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      STORE: 'memory',
      // A page that serves STORE=sqlite keeps its data in the project directory, across restarts.
      DATA_DIR: path.join(this.dir, 'data'),
      LOG_LEVEL: 'info',
      LOG_PRETTY: 'false',
      ...(dev ? { ...DEV_DEFAULTS, LOG_PRETTY: 'false' } : {}),
      ...env,
      FLOWS_DIR: path.join(this.dir, 'flows'),
    };
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    const service = await createService(loadConfig(fullEnv), { env: fullEnv, logDestination: discard, tolerateInvalidFlows: dev });
    await service.app.listen({ host: '127.0.0.1', port: 0 });
    await service.metricsApp.listen({ host: '127.0.0.1', port: 0 });
    service.state.ready = true;
    this.#service = service;
    this.#ports = { api: (service.app.server.address() as AddressInfo).port, metrics: (service.metricsApp.server.address() as AddressInfo).port };
  }

  /** The service the blocks talk to, started with quick-start settings if no block started one. */
  async service(): Promise<Service> {
    if (this.#service === undefined) await this.serve({}, false);
    return this.#service!;
  }

  /** Text as the running service sees it: the documented ports replaced by the real ones. */
  localise(text: string): string {
    return text
      .replaceAll(/(127\.0\.0\.1|localhost):3000\b/g, `127.0.0.1:${this.#ports.api}`)
      .replaceAll(/(127\.0\.0\.1|localhost):9464\b/g, `127.0.0.1:${this.#ports.metrics}`);
  }

  /** Writes a file of the project (the flows directory included) and reloads the flows. */
  async writeFile(file: string, text: string): Promise<void> {
    await this.service();
    writeFileSync(path.join(this.dir, file), this.localise(text));
    await this.settle();
  }

  /** Applies what the files now hold (a watching service may already have done so). */
  async settle(): Promise<void> {
    await this.#service?.built.reloader.reload('api');
  }

  /** Runs a shell block in the project directory (bash, -e, pipefail); resolves with its output. */
  async sh(script: string): Promise<string> {
    await this.service();
    const text = this.localise(script).replaceAll(/\bnpx flowd\b/g, 'flowd');
    try {
      const { stdout, stderr } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', text], {
        cwd: this.dir,
        timeout: SH_TIMEOUT_MS,
        env: { PATH: `${path.join(this.dir, 'bin')}:${process.env['PATH'] ?? ''}`, HOME: this.dir, LANG: 'C.UTF-8' },
        maxBuffer: 16 * 1024 * 1024,
      });
      return `${stdout}${stderr}`;
    } catch (error) {
      const failed = error as Error & { stdout?: string; stderr?: string };
      throw new Error(`the block failed: ${failed.message}\n--- stdout\n${failed.stdout ?? ''}\n--- stderr\n${failed.stderr ?? ''}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #stop(): Promise<void> {
    const service = this.#service;
    this.#service = undefined;
    await service?.close();
  }
}
