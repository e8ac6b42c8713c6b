// The command line of bench/run.mjs (its usage is the comment at the top of that file, printed by --help).
import { readFileSync } from 'node:fs';

export function parseArgs(argv, usageFile) {
  const a = { quick: false, soak: null, only: null, noPeer: false, verbose: false, soakMinimal: false, profile: false };
  for (const arg of argv) {
    const [k, v] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    switch (k) {
      case '--quick':
        a.quick = true;
        break;
      case '--soak':
        a.soak = v ? Number(v.replaceAll('_', '')) : 1_000_000;
        break;
      case '--soak-minimal':
        a.soakMinimal = true;
        break;
      case '--only':
        a.only = String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--duration':
        a.duration = Number(v);
        break;
      case '--warmup':
        a.warmup = Number(v);
        break;
      case '--connections':
        a.connections = Number(v);
        break;
      case '--rounds':
        a.rounds = Number(v);
        break;
      case '--out':
        a.out = v;
        break;
      case '--noisy-retries':
        a.noisyRetries = Number(v);
        break;
      case '--profile':
        a.profile = true;
        break;
      case '--before':
        a.before = v;
        break;
      case '--no-pg-count':
        a.noPgCount = true;
        break;
      case '--no-peer':
        a.noPeer = true;
        break;
      case '--verbose':
        a.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(readFileSync(usageFile, 'utf8').split('\n').slice(1, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (try --help)`);
    }
  }
  if (a.noisyRetries != null && !(Number.isInteger(a.noisyRetries) && a.noisyRetries >= 0)) throw new Error('--noisy-retries needs an integer ≥ 0');
  for (const k of ['duration', 'warmup', 'connections', 'rounds', 'soak']) {
    if (a[k] != null && !(Number.isFinite(a[k]) && a[k] > 0) && !(k === 'warmup' && a[k] === 0)) throw new Error(`--${k} needs a positive number`);
  }
  return a;
}
