/**
 * The egress policy: public addresses are allowed, every special-purpose range
 * (loopback, private, link-local/metadata, …, see ip-address.ts) is denied unless the
 * operator opened it explicitly with EGRESS_ALLOW.
 *
 * Allow entries are
 *  - an IP or CIDR (v4 or v6): opens those addresses whatever hostname led there;
 *    an IPv4 entry also opens the same address written as IPv4-mapped/compatible IPv6
 *    (::ffff:127.0.0.1 is the same host), but NOT its NAT64/6to4/Teredo forms, which
 *    reach a different machine (a translator);
 *  - a hostname (exact, case-insensitive, trailing dot ignored, no wildcards): opens
 *    whatever that name resolves to. That is a statement of trust in the name's DNS,
 *    so prefer IP/CIDR entries where the address is known.
 */
import { ConfigurationError } from '../../../errors.js';
import {
  cidrContains,
  cidrHasHostBits,
  classifyParsed,
  parseCidr,
  parseIp,
  type Cidr,
  type ParsedIp,
} from './ip-address.js';

export type EgressDecision = { allowed: true } | { allowed: false; reason: string };

export interface EgressPolicy {
  /**
   * Decides whether flowd may connect to `ip`. `hostname` is the name that resolved to
   * it (omit for IP-literal URLs); it only matters for hostname allow entries.
   */
  checkAddress(ip: string, hostname?: string): EgressDecision;
  /** The validated allow entries in normalised form. */
  readonly allow: readonly string[];
}

export interface EgressPolicyOptions {
  allow: readonly string[];
}

type AllowEntry = { kind: 'hostname'; hostname: string } | { kind: 'cidr'; cidr: Cidr; text: string };

const ALLOWED: EgressDecision = { allowed: true };

/** Lower-cases and drops one trailing dot, the DNS root that "localhost." spells out. */
export function normalizeHostname(hostname: string): string {
  const lower = hostname.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Validates one entry; returns an error message instead of throwing so callers can name the source. */
function parseAllowEntry(raw: string): AllowEntry | string {
  const entry = raw.trim();
  if (entry === '') return 'empty entry';
  const looksLikeIp = entry.includes('/') || entry.includes(':') || /^[\d.]+$/.test(entry);
  if (looksLikeIp) {
    const cidr = parseCidr(entry);
    if (cidr === undefined) return `"${entry}" is not a valid IP address or CIDR (ports and schemes are not supported; write IPs canonically, e.g. 127.0.0.1, ::1, 10.0.0.0/8)`;
    if (cidrHasHostBits(cidr)) return `"${entry}" has bits set below its /${cidr.prefix} prefix; write the network address`;
    return { kind: 'cidr', cidr, text: entry.toLowerCase() };
  }
  if (/[^a-zA-Z0-9.\-_\u0080-\uffff]/.test(entry)) {
    return `"${entry}" is not a hostname, IP or CIDR (wildcards, ports, schemes and paths are not supported)`;
  }
  let host: string;
  try {
    // The WHATWG parser gives the same form the connector will see (punycode, lower case).
    host = new URL(`http://${entry}/`).hostname;
  } catch {
    return `"${entry}" is not a valid hostname`;
  }
  if (parseIp(host) !== undefined) {
    // e.g. "0x7f.1": the URL parser reads it as an IP; make the operator say which one.
    return `"${entry}" is an IP address in a legacy spelling; write it as ${host}`;
  }
  const name = normalizeHostname(host);
  if (name === '' || name.split('.').some((label) => label === '' || label.length > 63)) {
    return `"${entry}" is not a valid hostname`;
  }
  return { kind: 'hostname', hostname: name };
}

function parseEntries(entries: readonly string[], source: string): AllowEntry[] {
  const parsed: AllowEntry[] = [];
  const issues: { path: string; message: string }[] = [];
  entries.forEach((raw, index) => {
    const result = parseAllowEntry(raw);
    if (typeof result === 'string') issues.push({ path: `${source}[${index}]`, message: result });
    else parsed.push(result);
  });
  if (issues.length > 0) throw new ConfigurationError(issues);
  return parsed;
}

/**
 * Parses the EGRESS_ALLOW value ("127.0.0.1,::1,localhost,10.0.0.0/8"). Empty items are
 * ignored; an invalid one throws a ConfigurationError naming it.
 */
export function parseAllowList(csv: string | undefined, source = 'EGRESS_ALLOW'): string[] {
  if (csv === undefined) return [];
  const items = csv.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return parseEntries(items, source).map((entry) => (entry.kind === 'hostname' ? entry.hostname : entry.text));
}

export function createEgressPolicy(options: EgressPolicyOptions): EgressPolicy {
  const entries = parseEntries(options.allow, 'allow');
  const hostnames = new Set(entries.flatMap((e) => (e.kind === 'hostname' ? [e.hostname] : [])));
  const cidrs = entries.flatMap((e) => (e.kind === 'cidr' ? [e.cidr] : []));
  const allowed = (ip: ParsedIp): boolean => cidrs.some((cidr) => cidrContains(cidr, ip));

  return {
    allow: entries.map((e) => (e.kind === 'hostname' ? e.hostname : e.text)),
    checkAddress(ip, hostname) {
      const parsed = parseIp(ip);
      if (parsed === undefined) return { allowed: false, reason: `"${ip}" is not an IP address` };
      const info = classifyParsed(parsed);
      if (info.class === 'public') return ALLOWED;
      if (hostname !== undefined && hostnames.has(normalizeHostname(hostname))) return ALLOWED;
      if (allowed(parsed)) return ALLOWED;
      const sameHost = info.embedded?.via === 'ipv4-mapped' || info.embedded?.via === 'ipv4-compatible';
      const embedded = info.embedded === undefined ? undefined : parseIp(info.embedded.ipv4);
      if (sameHost && embedded !== undefined && allowed(embedded)) return ALLOWED;

      const via = hostname === undefined ? '' : ` (resolved from "${hostname}")`;
      const note = info.note === undefined ? '' : `, ${info.note}`;
      return {
        allowed: false,
        reason:
          `egress to ${info.address}${via} refused: ${info.class} address (${info.range ?? 'special range'}${note}); ` +
          'add it to EGRESS_ALLOW to open it',
      };
    },
  };
}
