interface LockEntry {
  version?: string;
  dev?: boolean;
  [key: string]: unknown;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  engines?: Record<string, string>;
  bin?: Record<string, string>;
  license?: string;
}

/**
 * The lockfile of a project that depends only on flowd's tarball, with flowd's production
 * dependencies at exactly the versions (and integrity hashes) locked in flowd's own lockfile.
 * This repository's `npm ci` put every one of those tarballs in the npm cache, so
 * `npm ci --offline` installs the project without the registry — on a fresh CI machine too.
 * Each entry gets its tarball URL on `registry` (flowd's lockfile may omit them, as with
 * `omit-lockfile-registry-resolved`): with URL and integrity npm needs no package metadata.
 */
export function offlineLockfile(
  ours: Lockfile,
  flowdManifest: Manifest,
  project: Manifest,
  tarball: { filename: string; integrity: string },
  registry: string,
): Record<string, unknown> {
  const base = registry.endsWith('/') ? registry : `${registry}/`;
  const production = Object.entries(ours.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && entry.dev !== true && entry['link'] !== true)
    .map(([key, entry]) => {
      const name = typeof entry['name'] === 'string' ? entry['name'] : key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const resolved = entry['resolved'] ?? `${base}${name}/-/${name.split('/').at(-1)}-${entry.version}.tgz`;
      return [key, { ...entry, resolved }] as const;
    });
  return {
    name: project.name,
    version: project.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: project.name, version: project.version, dependencies: project.dependencies },
      'node_modules/flowd': {
        version: flowdManifest.version,
        resolved: `file:${tarball.filename}`,
        integrity: tarball.integrity,
        license: flowdManifest.license,
        dependencies: flowdManifest.dependencies,
        bin: flowdManifest.bin,
        engines: flowdManifest.engines,
      },
      ...Object.fromEntries(production),
    },
  };
}
