#!/usr/bin/env node
// Creates a flowd API key and prints the API_KEYS entry for it (the key's SHA-256, never the key).
// Dependency-free on purpose: it runs in the production image, where dev tools are absent.
//
//   node scripts/create-api-key.mjs <name> <scope>[,<scope>…]
//   node scripts/create-api-key.mjs ci flows:execute:order-fulfillment|shipping-quote,flows:read
//
// Scopes: flows:execute | flows:execute:<flow>|<flow>… | flows:read | flows:deploy | executions:read |
//         executions:read:all | admin | tenant=<name>
// Same format as createApiKey() in src/http/auth/api-keys.ts (a test keeps the two in step).
import { createHash, randomBytes } from 'node:crypto';
import process from 'node:process';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FLOW = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const PLAIN_SCOPES = new Set(['flows:execute', 'flows:read', 'flows:deploy', 'executions:read', 'executions:read:all', 'admin']);

const [name, scopeText] = process.argv.slice(2);
const usage = 'usage: node scripts/create-api-key.mjs <name> <scope>[,<scope>…]\n' +
  'scopes: flows:execute, flows:execute:<flow>|<flow>, flows:read, flows:deploy, executions:read, executions:read:all, admin, tenant=<name>\n';
if (name === undefined || scopeText === undefined || !NAME.test(name)) {
  process.stderr.write(usage);
  process.exit(2);
}
const scopes = scopeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
const bad = scopes.filter((scope) =>
  !PLAIN_SCOPES.has(scope) &&
  !(scope.startsWith('tenant=') && NAME.test(scope.slice('tenant='.length))) &&
  !(scope.startsWith('flows:execute:') && scope.slice('flows:execute:'.length).split('|').every((flow) => FLOW.test(flow))));
if (scopes.length === 0 || bad.length > 0) {
  process.stderr.write(`unknown or malformed scope: ${bad.join(', ') || '(none given)'}\n${usage}`);
  process.exit(2);
}

const key = `flowd_${randomBytes(32).toString('base64url')}`;
const hash = createHash('sha256').update(key, 'utf8').digest('hex');
const entry = `${name}:${hash}:${scopes.join(',')}`;
process.stdout.write(
  `key (give it to the client once; it is not stored anywhere):\n${key}\n\n` +
  `API_KEYS entry (append with ";" to API_KEYS):\n${entry}\n\n` +
  `API_KEYS=${JSON.stringify(entry)}\n`,
);
