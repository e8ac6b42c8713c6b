// Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time by function and by module.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a script URL comes from: an npm package, a file of the project, node internals, or V8. */
export function moduleOf(url, repoDir) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node:internals';
  let p = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (repoDir && p.startsWith(repoDir)) p = path.relative(repoDir, p);
  return p;
}

/**
 * The part of the request path a sampled function belongs to, for "where does the CPU go" (issue 14): the web
 * framework (routing, hooks, body parsing, serialisation), JSON, the engine, the execution journal and its views,
 * the http client, stores, observability, node internals, GC, V8 itself.
 */
export function categoryOf(functionName, url, repoDir) {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 / native (program)';
  if (!url) return /^(stringify|parse)$/.test(functionName) ? 'JSON (JSON.parse / stringify)' : 'native bindings (socket writev / read, fs)';
  const mod = moduleOf(url, repoDir);
  if (/^(fastify|find-my-way|avvio|light-my-request|@fastify\/.*|fast-json-stringify|fast-uri|ajv.*|secure-json-parse|fast-content-type-parse|content-type|toad-cache|abstract-logging|process-warning|rfdc|json-schema-ref-resolver|fast-querystring|@fastify)$/.test(mod))
    return mod === 'secure-json-parse' || mod === 'fast-json-stringify' ? 'JSON (fastify parse / serialise)' : 'fastify (routing, hooks, reply)';
  if (mod === 'undici' || mod.startsWith('wasm://')) return 'undici (http client; llhttp is its wasm)';
  if (/^(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free|atomic-sleep|safe-stable-stringify)$/.test(mod)) return 'logging (pino)';
  if (/^(prom-client|tdigest|bintrees)$/.test(mod)) return 'metrics (prom-client)';
  if (/^(jsonata|zod)$/.test(mod)) return `expressions / validation (${mod})`;
  if (/^(pg|pg-protocol|pg-pool|pg-types|better-sqlite3)$/.test(mod)) return 'store drivers (pg, better-sqlite3)';
  if (mod.includes('/engine/journal/') || mod.includes('/journal')) return 'flowd journal (entries, views)';
  if (mod.includes('/engine/') || mod.includes('/expressions/') || mod.includes('/flows/')) return 'flowd engine (phases, expressions)';
  if (mod.includes('/adapters/')) return 'flowd adapters (http phase)';
  if (mod.includes('/http/') || mod.includes('/executions/') || mod.endsWith('/app.js') || mod.endsWith('/service.js')) return 'flowd HTTP layer (routes, execution service)';
  if (mod.includes('/store/') || mod.includes('/durable/')) return 'flowd store / durable';
  if (mod.includes('/observability/') || mod.includes('/limits/')) return 'flowd observability / limits';
  if (mod.startsWith('dist/') || mod.startsWith('src/')) return 'flowd (other)';
  if (mod === 'node:internals') {
    if (/^(wrapSafe|compile\w*|Module\.\w+|readPackage\w*|parseCJS|_link|parseSource|getModuleJob\w*|realpathSync|internalModuleStat|loadESM\w*|link|instantiate)$/.test(functionName)) return 'module loading (start-up, lazy imports)';
    return 'node internals (streams, sockets, timers)';
  }
  if (mod === '(native / V8)') return /^(stringify|parse)$/.test(functionName) ? 'JSON (JSON.parse / stringify)' : 'V8 / native (program)';
  return `other packages (${mod})`;
}

/**
 * { totalMs, byFunction: [{ name, where, selfMs, pct }], byModule: [{ module, selfMs, pct }] } of one profile,
 * excluding the idle and GC pseudo-nodes from the module split (GC is reported on its own).
 */
export function summarizeProfile(file, repoDir, top = 25, { skipMs = 0 } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  // Skip the first skipMs of the profile (start-up: module loading, flow compilation) when asked.
  if (skipMs > 0) {
    let t = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i] ?? 0;
      if (t < skipMs * 1000) prof.samples[i] = -1;
    }
  }
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    if (id === -1) continue;
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  let totalUs = 0;
  let idleUs = 0;
  const fn = new Map();
  const mod = new Map();
  const cat = new Map();
  for (const [id, us] of self) {
    const node = byId.get(id);
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const module = cf.functionName === '(garbage collector)' ? '(garbage collector)' : moduleOf(cf.url, repoDir);
    const where = cf.url ? `${moduleOf(cf.url, repoDir)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    mod.set(module, (mod.get(module) ?? 0) + us);
    const c = categoryOf(cf.functionName, cf.url, repoDir);
    cat.set(c, (cat.get(c) ?? 0) + us);
  }
  const pct = (us) => (totalUs ? (us / totalUs) * 100 : 0);
  return {
    file,
    skippedMs: skipMs,
    busyMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    byFunction: [...fn]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => {
        const [name, where] = k.split('\u0000');
        return { name, where, selfMs: us / 1000, pct: pct(us) };
      }),
    byCategory: [...cat].sort((a, b) => b[1] - a[1]).map(([category, us]) => ({ category, selfMs: us / 1000, pct: pct(us) })),
    byModule: [...mod].sort((a, b) => b[1] - a[1]).slice(0, top).map(([module, us]) => ({ module, selfMs: us / 1000, pct: pct(us) })),
  };
}

export function renderProfileMarkdown(summary, title) {
  const L = [`## ${title}`, '', `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms${summary.skippedMs ? ` (after the first ${(summary.skippedMs / 1000).toFixed(1)} s: start-up left out)` : ''} — \`${summary.file}\``, ''];
  L.push('| part of the path | self ms | % of busy |', '|---|---:|---:|');
  for (const c of summary.byCategory) L.push(`| ${c.category} | ${c.selfMs.toFixed(0)} | ${c.pct.toFixed(1)} |`);
  L.push('', '| module | self ms | % of busy |', '|---|---:|---:|');
  for (const m of summary.byModule) L.push(`| ${m.module} | ${m.selfMs.toFixed(0)} | ${m.pct.toFixed(1)} |`);
  L.push('', '| function | where | self ms | % of busy |', '|---|---|---:|---:|');
  for (const f of summary.byFunction) L.push(`| ${f.name} | ${f.where} | ${f.selfMs.toFixed(0)} | ${f.pct.toFixed(1)} |`);
  L.push('');
  return L.join('\n');
}

/** After the servers stopped: summarize each flowd instance's .cpuprofile into <out>/profile.md. */
export function writeProfiles({ servers, scenarioIds, meta, outDir, repoDir, log }) {
  const parts = [`# flowd CPU profiles — ${meta.date}`, '', `Scenarios: ${scenarioIds.join(', ') || 'soak'}. Each profile covers the whole life of that flowd process (start-up, probes, warm-ups, windows). Self time: time in the function itself, not its callees.`, ''];
  for (const [name, srv] of Object.entries(servers)) {
    const dir = srv?.proc?.profileDir;
    if (!dir) continue;
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
    if (!files.length) {
      parts.push(`## ${name}`, '', `no .cpuprofile in ${dir} (the process did not exit normally?)`, '');
      continue;
    }
    for (const f of files) {
      const summary = summarizeProfile(path.join(dir, f), repoDir, 30, { skipMs: srv.proc.readyAfterMs ?? 0 });
      // Worker threads (log transport, …) that stayed idle: one line, not a table.
      if (summary.busyMs < 20) parts.push(`(${f}: a thread with ${summary.busyMs.toFixed(0)} ms busy — left out)`, '');
      else parts.push(renderProfileMarkdown(summary, name));
    }
  }
  const md = parts.join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'profile.md'), md + '\n');
  process.stdout.write('\n' + md + '\n');
  log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'profile.md'))} (raw profiles in ${path.relative(process.cwd(), path.join(outDir, 'profiles'))}/)`);
}
