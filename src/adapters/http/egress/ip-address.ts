/**
 * IP address parsing and classification for the egress policy.
 *
 * Addresses are parsed into integers (bigint for both families so CIDR maths is one
 * code path) and compared numerically. Nothing here matches on address strings:
 * "127.1", "0x7f.1" and "::ffff:7f00:1" only ever reach the policy as numbers, so a
 * new spelling cannot slip past a pattern (SECURITY.md rule 4).
 *
 * Input must be a literal IP as produced by `dns.lookup`, `socket.remoteAddress` or a
 * WHATWG-normalised URL host (brackets are tolerated). Legacy IPv4 spellings such as
 * "127.1" are NOT accepted here: the URL parser normalises them before they get here,
 * and anything else that is not a strict literal is treated as "not an IP".
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'unspecified'
  | 'link-local'
  | 'private'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking';

/** How an IPv4 address is carried inside an IPv6 one. */
export type Embedding = 'ipv4-mapped' | 'ipv4-compatible' | 'ipv4-translated' | 'nat64' | '6to4' | 'teredo';

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr extends ParsedIp {
  prefix: number;
}

export interface AddressInfo {
  /** Canonical text: dotted quad, or WHATWG-serialised IPv6 without brackets or zone. */
  address: string;
  family: 4 | 6;
  class: AddressClass;
  /** The special range that matched, for error messages (undefined for public). */
  range: string | undefined;
  /** Set when the class was taken from an IPv4 address embedded in an IPv6 one. */
  embedded: { ipv4: string; via: Embedding } | undefined;
  /** A human note for well-known endpoints, e.g. cloud metadata services. */
  note: string | undefined;
}

const BITS = { 4: 32, 6: 128 } as const;

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function parseIPv4Value(text: string): bigint {
  // Only called after isIPv4(), so exactly four decimal octets 0-255.
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6Value(text: string): bigint {
  // Only called after isIPv6() (zone already removed). Expands "::" and a dotted IPv4 tail.
  const toHextets = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = Number(parseIPv4Value(piece));
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  let hextets: number[];
  if (gap === -1) {
    hextets = toHextets(text);
  } else {
    const left = toHextets(text.slice(0, gap));
    const right = toHextets(text.slice(gap + 2));
    hextets = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  return hextets.reduce((acc, h) => (acc << 16n) | BigInt(h), 0n);
}

/** Parses a strict IP literal (optionally bracketed, IPv6 zone ignored); undefined if it is not one. */
export function parseIp(text: string): ParsedIp | undefined {
  const bare = stripBrackets(text.trim());
  if (isIPv4(bare)) return { family: 4, value: parseIPv4Value(bare) };
  if (!isIPv6(bare)) return undefined;
  const noZone = bare.split('%')[0] ?? '';
  if (!isIPv6(noZone)) return undefined;
  return { family: 6, value: parseIPv6Value(noZone) };
}

/** Parses "a.b.c.d/n", "x::/n" or a bare address (as a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (ip === undefined) return undefined;
  if (slash === -1) return { ...ip, prefix: BITS[ip.family] };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.family]) return undefined;
  return { ...ip, prefix };
}

/** True when bits below the prefix are set, e.g. 10.0.0.1/8 (usually a typo). */
export function cidrHasHostBits(cidr: Cidr): boolean {
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefix);
  return (cidr.value & ((1n << hostBits) - 1n)) !== 0n;
}

export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const shift = BigInt(BITS[cidr.family] - cidr.prefix);
  return cidr.value >> shift === ip.value >> shift;
}

export function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return formatIPv4(ip.value);
  const hextets: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) hextets.push(((ip.value >> shift) & 0xffffn).toString(16));
  // The WHATWG serialiser gives the one canonical compressed form (RFC 5952 style).
  return stripBrackets(new URL(`http://[${hextets.join(':')}]/`).hostname);
}

function table(entries: ReadonlyArray<readonly [string, AddressClass]>): ReadonlyArray<{ cidr: Cidr; text: string; cls: AddressClass }> {
  return entries.map(([text, cls]) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`bad built-in range ${text}`);
    return { cidr, text, cls };
  });
}

// First match wins, so the broadcast /32 sits before 240/4.
const IPV4_RANGES = table([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

// Ranges whose class comes from an embedded IPv4 address. Checked after :: and ::1.
interface EmbeddingRange {
  cidr: Cidr;
  text: string;
  via: Embedding;
  extract: (value: bigint) => bigint;
}

function embedding(text: string, via: Embedding, extract: (value: bigint) => bigint): EmbeddingRange {
  const cidr = parseCidr(text);
  if (cidr === undefined) throw new Error(`bad built-in range ${text}`);
  return { cidr, text, via, extract };
}

const low32 = (value: bigint): bigint => value & 0xffffffffn;

// Ranges whose class comes from an embedded IPv4 address. Checked after :: and ::1.
const IPV6_EMBEDDINGS: readonly EmbeddingRange[] = [
  embedding('::ffff:0:0/96', 'ipv4-mapped', low32),
  embedding('::ffff:0:0:0/96', 'ipv4-translated', low32),
  embedding('64:ff9b::/96', 'nat64', low32),
  embedding('::/96', 'ipv4-compatible', low32),
  embedding('2002::/16', '6to4', (value) => (value >> 80n) & 0xffffffffn),
  // Teredo carries the client's IPv4 address bit-inverted in the low 32 bits.
  embedding('2001::/32', 'teredo', (value) => low32(value) ^ 0xffffffffn),
];

const IPV6_RANGES = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'private'], // local-use NAT64 (RFC 8215)
  ['100::/64', 'reserved'], // discard-only
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'private'], // unique local, includes AWS fd00:ec2::254
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
]);

const GLOBAL_UNICAST = parseCidr('2000::/3');

const NOTES: ReadonlyMap<string, string> = new Map([
  ['169.254.169.254', 'cloud metadata endpoint'],
  ['169.254.170.2', 'container metadata endpoint'],
  ['100.100.100.200', 'cloud metadata endpoint'],
  ['192.0.0.192', 'cloud metadata endpoint'],
  ['fd00:ec2::254', 'cloud metadata endpoint'],
]);

function classifyIPv4(value: bigint): { cls: AddressClass; range: string | undefined } {
  const ip: ParsedIp = { family: 4, value };
  const hit = IPV4_RANGES.find((r) => cidrContains(r.cidr, ip));
  return hit === undefined ? { cls: 'public', range: undefined } : { cls: hit.cls, range: hit.text };
}

/** Classifies a parsed address. IPv6 forms that carry an IPv4 address take that address's class. */
export function classifyParsed(ip: ParsedIp): AddressInfo {
  const address = formatIp(ip);
  const base = { address, family: ip.family, note: NOTES.get(address) };
  if (ip.family === 4) {
    const { cls, range } = classifyIPv4(ip.value);
    return { ...base, class: cls, range, embedded: undefined };
  }
  const direct = IPV6_RANGES.slice(0, 2).find((r) => cidrContains(r.cidr, ip));
  if (direct !== undefined) return { ...base, class: direct.cls, range: direct.text, embedded: undefined };

  const embedding = IPV6_EMBEDDINGS.find((e) => cidrContains(e.cidr, ip));
  if (embedding !== undefined) {
    const v4 = embedding.extract(ip.value);
    const ipv4 = formatIPv4(v4);
    const { cls, range } = classifyIPv4(v4);
    return {
      ...base,
      note: base.note ?? NOTES.get(ipv4),
      class: cls,
      range: range === undefined ? undefined : `${embedding.via} ${embedding.text} carrying ${range}`,
      embedded: { ipv4, via: embedding.via },
    };
  }

  const hit = IPV6_RANGES.slice(2).find((r) => cidrContains(r.cidr, ip));
  if (hit !== undefined) return { ...base, class: hit.cls, range: hit.text, embedded: undefined };
  // Only 2000::/3 is allocated as global unicast; anything else is not a real upstream.
  if (GLOBAL_UNICAST !== undefined && !cidrContains(GLOBAL_UNICAST, ip)) {
    return { ...base, class: 'reserved', range: 'outside 2000::/3', embedded: undefined };
  }
  return { ...base, class: 'public', range: undefined, embedded: undefined };
}

/** Classifies an IP literal; undefined when the text is not a strict IP literal. */
export function classifyAddress(text: string): AddressInfo | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : classifyParsed(ip);
}
