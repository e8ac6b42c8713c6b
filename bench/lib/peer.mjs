// The Node-RED peer: installed lazily into bench/.peer/ (gitignored), started with a fresh temporary user dir,
// the reference settings (below) and flows (bench/node-red/flows.json), copied from shared/reference/node-red/.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GUARD_URL, startProcess, waitReady } from './proc.mjs';
import { httpCall } from './http.mjs';

export const NODE_RED_SPEC = 'node-red@4.1';

/**
 * The reference settings (shared/reference/node-red/settings.js), verbatim. Kept here rather than as a .js/.cjs file
 * in bench/ because Node-RED require()s it (CommonJS, which a .js file in this ESM package is not) and the repo's
 * lint would parse a .cjs file; it is written into the temporary user dir as settings.js.
 */
export const NODE_RED_SETTINGS = `// Node-RED 4.x settings for the loopback benchmark: 127.0.0.1 only, no editor auth, quiet logging.
module.exports = {
  uiHost: '127.0.0.1',
  uiPort: Number(process.env.NR_PORT || 1880),
  flowFile: 'flows.json',
  credentialSecret: false,
  flowFilePretty: true,
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
  diagnostics: { enabled: false },
  runtimeState: { enabled: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  functionExternalModules: false,
  exportGlobalContextKeys: false,
};
`;

/**
 * Makes sure bench/.peer/node_modules/node-red exists, installing it when missing.
 * Returns { ok: true, redJs, version } or { ok: false, reason }. Never throws.
 */
export async function ensureNodeRed(benchDir, { log = () => {}, timeoutMs = 600_000 } = {}) {
  const peerDir = path.join(benchDir, '.peer');
  const redJs = path.join(peerDir, 'node_modules', 'node-red', 'red.js');
  const pkgJson = path.join(peerDir, 'node_modules', 'node-red', 'package.json');
  const version = () => {
    try {
      return JSON.parse(readFileSync(pkgJson, 'utf8')).version;
    } catch {
      return null;
    }
  };
  if (existsSync(redJs) && version()?.startsWith('4.')) return { ok: true, redJs, version: version() };

  log(`installing ${NODE_RED_SPEC} into ${path.relative(process.cwd(), peerDir) || peerDir} (once; up to ${timeoutMs / 1000} s) …`);
  const args = ['install', '--prefix', peerDir, '--no-save', '--no-audit', '--no-fund', NODE_RED_SPEC];
  const result = await new Promise((resolve) => {
    let out = '';
    const child = spawn('npm', args, { cwd: path.dirname(benchDir), stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => {
      out = (out + chunk).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, reason: `npm install timed out after ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `npm could not be started: ${err.message}` });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: true } : { ok: false, reason: `npm install exited ${code}: ${out.trim().slice(-800)}` });
    });
  });
  if (!result.ok) return result;
  if (!existsSync(redJs)) return { ok: false, reason: `npm install succeeded but ${redJs} is missing` };
  return { ok: true, redJs, version: version() };
}

/**
 * Starts Node-RED on 127.0.0.1:port with a fresh user dir (tmpDir), the reference settings and flows; the flows'
 * upstream URL is pointed at upstreamPort. Returns { ok, proc, reason }.
 */
export async function startNodeRed({ benchDir, redJs, port, upstreamPort, tmpDir, body, env = {} }) {
  writeFileSync(path.join(tmpDir, 'settings.js'), NODE_RED_SETTINGS);
  const flows = readFileSync(path.join(benchDir, 'node-red', 'flows.json'), 'utf8').replaceAll(
    'http://127.0.0.1:3001/',
    `http://127.0.0.1:${upstreamPort}/`,
  );
  const flowsPath = path.join(tmpDir, 'flows.json');
  writeFileSync(flowsPath, flows);
  const proc = startProcess(
    'node-red',
    process.execPath,
    ['--import', GUARD_URL, redJs, '-u', tmpDir, '-s', path.join(tmpDir, 'settings.js'), flowsPath],
    { env: { ...env, NR_PORT: String(port) }, cwd: tmpDir },
  );
  const ready = await waitReady(
    proc,
    async () => {
      const r = await httpCall(`http://127.0.0.1:${port}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: 2000,
      });
      return r.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  return ready.ok ? { ok: true, proc } : { ok: false, proc, reason: ready.reason };
}
