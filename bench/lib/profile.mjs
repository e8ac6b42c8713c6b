// Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time by function and by module.
import { readFileSync } from 'node:fs';
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
 * { totalMs, byFunction: [{ name, where, selfMs, pct }], byModule: [{ module, selfMs, pct }] } of one profile,
 * excluding the idle and GC pseudo-nodes from the module split (GC is reported on its own).
 */
export function summarizeProfile(file, repoDir, top = 25) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  let totalUs = 0;
  let idleUs = 0;
  const fn = new Map();
  const mod = new Map();
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
  }
  const pct = (us) => (totalUs ? (us / totalUs) * 100 : 0);
  return {
    file,
    busyMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    byFunction: [...fn]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => {
        const [name, where] = k.split('\u0000');
        return { name, where, selfMs: us / 1000, pct: pct(us) };
      }),
    byModule: [...mod].sort((a, b) => b[1] - a[1]).slice(0, top).map(([module, us]) => ({ module, selfMs: us / 1000, pct: pct(us) })),
  };
}

export function renderProfileMarkdown(summary, title) {
  const L = [`## ${title}`, '', `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms — \`${summary.file}\``, ''];
  L.push('| module | self ms | % of busy |', '|---|---:|---:|');
  for (const m of summary.byModule) L.push(`| ${m.module} | ${m.selfMs.toFixed(0)} | ${m.pct.toFixed(1)} |`);
  L.push('', '| function | where | self ms | % of busy |', '|---|---|---:|---:|');
  for (const f of summary.byFunction) L.push(`| ${f.name} | ${f.where} | ${f.selfMs.toFixed(0)} | ${f.pct.toFixed(1)} |`);
  L.push('');
  return L.join('\n');
}
