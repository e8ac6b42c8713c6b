import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  engines?: { node?: string } | string[];
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
/** The oldest Node the package declares: every locked dependency must accept it. */
const OLDEST = semver.minVersion(manifest.engines.node)!.version;

describe('the Node versions flowd declares', () => {
  it('are accepted by every dependency npm ci installs, so it never warns EBADENGINE (cookie and content-disposition are pinned for Node 20)', () => {
    const refusing = Object.entries(lock.packages)
      .filter(([key, entry]) => key !== '' && !(entry.optional === true && entry.os !== undefined && !entry.os.includes(process.platform)))
      .filter(([, entry]) => !Array.isArray(entry.engines) && entry.engines?.node !== undefined && !semver.satisfies(OLDEST, entry.engines.node))
      .map(([key, entry]) => `${key}@${entry.version} wants node ${(entry.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });

  it('include Node 20, as the README says', () => {
    expect(semver.major(OLDEST)).toBe(20);
  });
});
