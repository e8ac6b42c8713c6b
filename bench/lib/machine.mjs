// What the report says about the machine and the builds, and waiting for the machine to be quiet between windows.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLK_TCK, readMachineBusyTicks, sleep } from './proc.mjs';

export function versionOf(pkgDir) {
  try {
    return JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function machineInfo(repoDir) {
  let cpuModel = 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux */
  }
  let commit = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    date: new Date().toISOString(),
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    loadAvgStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    node: process.version,
    autocannon: versionOf(path.join(repoDir, 'node_modules', 'autocannon')),
    fastify: versionOf(path.join(repoDir, 'node_modules', 'fastify')),
    undici: versionOf(path.join(repoDir, 'node_modules', 'undici')),
    commit,
  };
}

/**
 * Waits (at most `maxMs`) until the machine is quiet — under `busyPctBelow` % of one core busy over half a
 * second, while our own servers are idle between windows — so another process's burst does not land in a window.
 */
export async function waitMachineIdle(maxMs, busyPctBelow) {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const a = readMachineBusyTicks();
    const ta = performance.now();
    await sleep(500);
    const b = readMachineBusyTicks();
    if (a == null || b == null) break;
    const busyPct = ((b - a) / CLK_TCK / ((performance.now() - ta) / 1000)) * 100;
    if (busyPct < busyPctBelow) break;
  }
  return { waitedSec: (performance.now() - t0) / 1000 };
}

/** Whether `taskset` can pin a process to a core here. */
export function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
