// The benchmark flows (bench/flows/), which call the upstream at 127.0.0.1:3001, copied to call it on another port.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FLOWS_DIR = fileURLToPath(new URL('../flows/', import.meta.url));

/** Writes every bench flow into `dir` (which exists), its upstream URL pointed at `upstreamPort`. */
export function copyFlowsFor(upstreamPort, dir) {
  for (const file of readdirSync(FLOWS_DIR)) {
    const text = readFileSync(path.join(FLOWS_DIR, file), 'utf8');
    writeFileSync(path.join(dir, file), text.replaceAll('http://127.0.0.1:3001', `http://127.0.0.1:${upstreamPort}`));
  }
}
