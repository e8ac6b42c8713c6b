import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { METRIC_NAMES, createMetrics } from '../../src/observability/metrics.js';
import { baseName, metricNamesIn } from '../helpers/promql.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOOL_TIMEOUT_MS = 60_000;
// CI installs these; a missing tool must fail loudly, never skip, or config rot goes unseen.
const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y docker-compose prometheus';

function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: TOOL_TIMEOUT_MS });
  return { ok: result.error === undefined && result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** `docker compose` (v2 plugin) when present, else Debian's `docker-compose`. */
function findCompose(): { command: string; prefix: string[] } | undefined {
  if (run('docker', ['compose', 'version']).ok) return { command: 'docker', prefix: ['compose'] };
  if (run('docker-compose', ['version']).ok) return { command: 'docker-compose', prefix: [] };
  return undefined;
}

interface GrafanaTarget {
  expr?: string;
  datasource?: { uid?: string };
}
interface GrafanaPanel {
  type: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
interface GrafanaDashboard {
  panels: GrafanaPanel[];
  templating?: { list: Array<{ query?: string | { query?: string } }> };
}

function leafPanels(panels: GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((panel) => (panel.type === 'row' ? leafPanels(panel.panels ?? []) : [panel]));
}

describe('ops config', () => {
  describe('metricNamesIn', () => {
    it('finds selected metrics and ignores functions, grouping labels, strings and ranges', () => {
      const expr =
        'histogram_quantile(0.95, sum by (flow, le) (rate(a_bucket{flow=~"$flow"}[$__rate_interval])))\n/ on (flow) group_left b_total offset 5m';
      expect(metricNamesIn(expr)).toEqual(['a_bucket', 'b_total']);
    });
  });

  describe('Grafana dashboard', () => {
    const dashboard = JSON.parse(readRepoFile('ops/grafana/dashboards/flowd.json')) as GrafanaDashboard;
    const panels = leafPanels(dashboard.panels);

    it('gives every panel at least one PromQL target', () => {
      expect(panels.length).toBeGreaterThan(0);
      const withoutTargets = panels.filter((p) => !p.targets?.some((t) => (t.expr ?? '').trim() !== ''));
      expect(withoutTargets.map((p) => p.title)).toEqual([]);
    });

    it('references only flowd metrics or default process metrics the registry really exports', async () => {
      const exported = (await createMetrics().registry.metrics())
        .split('\n')
        .flatMap((line) => /^# TYPE (\S+) /.exec(line)?.[1] ?? []);
      const known = new Set<string>([...METRIC_NAMES, ...exported]);

      const variableQueries = (dashboard.templating?.list ?? [])
        .map((v) => (typeof v.query === 'string' ? v.query : v.query?.query) ?? '')
        .map((query) => query.replace(/^label_values\(\s*([^,]+),[^)]*\)$/, '$1'));
      const exprs = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')), ...variableQueries];

      const unknown: string[] = [];
      for (const expr of exprs.filter((e) => e.trim() !== '')) {
        const names = metricNamesIn(expr);
        expect(names, `no metric found in: ${expr}`).not.toEqual([]);
        unknown.push(...names.map(baseName).filter((name) => !known.has(name)));
      }
      expect(unknown).toEqual([]);
    });

    it('queries only the provisioned Prometheus datasource', () => {
      const provisioned = parseYaml(readRepoFile('ops/grafana/provisioning/datasources/prometheus.yml')) as {
        datasources: Array<{ uid: string }>;
      };
      const uids = new Set(provisioned.datasources.map((d) => d.uid));
      const used = panels.flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]);
      expect(used.filter((uid) => uid !== undefined && !uids.has(uid))).toEqual([]);
    });
  });

  describe('docker-compose.yml', () => {
    it(
      'passes `docker compose config -q` with every profile enabled',
      () => {
        const compose = findCompose();
        if (compose === undefined) throw new Error(`Neither \`docker compose\` nor \`docker-compose\` found; ${INSTALL_HINT}`);
        // --profile replicas so services behind the profile are resolved too.
        const result = run(compose.command, [...compose.prefix, '--profile', 'replicas', '-f', 'docker-compose.yml', 'config', '-q']);
        expect(result.ok, result.output).toBe(true);
      },
      TOOL_TIMEOUT_MS,
    );
  });

  describe('ops/prometheus/prometheus.yml', () => {
    it(
      'passes `promtool check config`',
      () => {
        if (!run('promtool', ['--version']).ok) throw new Error(`promtool not found; ${INSTALL_HINT}`);
        const result = run('promtool', ['check', 'config', 'ops/prometheus/prometheus.yml']);
        expect(result.ok, result.output).toBe(true);
      },
      TOOL_TIMEOUT_MS,
    );
  });

  describe('Dockerfile', () => {
    const dockerfile = readRepoFile('Dockerfile');
    const runtimeStage = dockerfile.split(/^FROM\s/m).at(-1) ?? '';

    it('runs the final stage as a non-root user', () => {
      expect(runtimeStage).toMatch(/^USER\s+(?!root\b|0\b)\S+/m);
    });

    it('has a HEALTHCHECK against /health/ready', () => {
      expect(runtimeStage).toMatch(/^HEALTHCHECK\s[\s\S]*\/health\/ready/m);
    });

    it('exposes the API and metrics ports', () => {
      const exposed = [...runtimeStage.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/));
      expect(exposed).toEqual(expect.arrayContaining(['3000', '9464']));
    });

    it('starts node with the young-generation size that npm start and the benchmark use', () => {
      const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(runtimeStage)?.[1];
      expect(JSON.parse(cmd ?? 'null')).toEqual(['node', '--max-semi-space-size=32', 'dist/src/server.js']);
      const start = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts.start;
      expect(start).toContain('node --max-semi-space-size=32 dist/src/server.js');
    });

    it('installs production dependencies with npm ci --omit=dev', () => {
      expect(dockerfile).toMatch(/npm ci --omit=dev/);
    });

    it("keeps the package's prepare script (the build) from running before the sources are copied", () => {
      // package.json's `prepare` builds dist/ for installs from git or a tarball; inside the image the
      // sources arrive after `npm ci`, so every npm ci skips scripts and the build runs on its own.
      const installs = [...dockerfile.matchAll(/npm ci[^\n]*/g)].map((match) => match[0]);
      expect(installs.length).toBeGreaterThan(1);
      for (const install of installs) expect(install).toContain('--ignore-scripts');
      expect(dockerfile).toMatch(/npm rebuild better-sqlite3/);
      expect(dockerfile.indexOf('RUN npm run build')).toBeGreaterThan(dockerfile.indexOf('COPY src ./src'));
    });
  });
});
