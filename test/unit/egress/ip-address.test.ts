import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  cidrHasHostBits,
  classifyAddress,
  formatIp,
  parseCidr,
  parseIp,
} from '../../../src/adapters/http/egress/ip-address.js';

describe('classifyAddress, IPv4', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.15.255.255', 'public'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.0.0.192', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)?.class).toBe(cls);
  });

  it('labels metadata endpoints', () => {
    expect(classifyAddress('169.254.169.254')?.note).toBe('cloud metadata endpoint');
    expect(classifyAddress('100.100.100.200')).toMatchObject({ class: 'cgnat', note: 'cloud metadata endpoint' });
  });
});

describe('classifyAddress, IPv6', () => {
  it.each([
    ['::', 'unspecified', undefined],
    ['::1', 'loopback', undefined],
    ['0:0:0:0:0:0:0:1', 'loopback', undefined],
    ['[::1]', 'loopback', undefined],
    ['fe80::1', 'link-local', undefined],
    ['fe80::1%eth0', 'link-local', undefined],
    ['febf::1', 'link-local', undefined],
    ['fc00::1', 'private', undefined],
    ['fd12:3456::1', 'private', undefined],
    ['fd00:ec2::254', 'private', undefined],
    ['fec0::1', 'private', undefined],
    ['ff02::1', 'multicast', undefined],
    ['2001:db8::1', 'documentation', undefined],
    ['3fff::1', 'documentation', undefined],
    ['2001:2::1', 'benchmarking', undefined],
    ['100::1', 'reserved', undefined],
    ['64:ff9b:1::1', 'private', undefined],
    ['4000::1', 'reserved', undefined],
    ['2606:4700:4700::1111', 'public', undefined],
    // IPv4 carried in IPv6 takes the IPv4 class.
    ['::ffff:127.0.0.1', 'loopback', { ipv4: '127.0.0.1', via: 'ipv4-mapped' }],
    ['::ffff:7f00:1', 'loopback', { ipv4: '127.0.0.1', via: 'ipv4-mapped' }],
    ['::ffff:a9fe:a9fe', 'link-local', { ipv4: '169.254.169.254', via: 'ipv4-mapped' }],
    ['::ffff:8.8.8.8', 'public', { ipv4: '8.8.8.8', via: 'ipv4-mapped' }],
    ['::127.0.0.1', 'loopback', { ipv4: '127.0.0.1', via: 'ipv4-compatible' }],
    ['::ffff:0:7f00:1', 'loopback', { ipv4: '127.0.0.1', via: 'ipv4-translated' }],
    ['64:ff9b::7f00:1', 'loopback', { ipv4: '127.0.0.1', via: 'nat64' }],
    ['64:ff9b::169.254.169.254', 'link-local', { ipv4: '169.254.169.254', via: 'nat64' }],
    ['64:ff9b::808:808', 'public', { ipv4: '8.8.8.8', via: 'nat64' }],
    ['2002:7f00:1::1', 'loopback', { ipv4: '127.0.0.1', via: '6to4' }],
    ['2002:a00:1::', 'private', { ipv4: '10.0.0.1', via: '6to4' }],
    // Teredo: client 127.0.0.1 stored inverted as 80ff:fffe.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback', { ipv4: '127.0.0.1', via: 'teredo' }],
  ])('%s is %s', (ip, cls, embedded) => {
    const info = classifyAddress(ip);
    expect(info?.class).toBe(cls);
    expect(info?.embedded).toEqual(embedded);
  });

  it('reports the canonical form', () => {
    expect(classifyAddress('0:0:0:0:0:FFFF:7F00:0001')?.address).toBe('::ffff:7f00:1');
    expect(classifyAddress('::ffff:127.0.0.1')?.address).toBe('::ffff:7f00:1');
  });
});

describe('parsing is strict', () => {
  it.each(['127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', 'localhost', '', '1.2.3.4.5', '1.2.3.256', ':::1', 'ffff::1::2'])(
    '%j is not an IP literal',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
      expect(classifyAddress(text)).toBeUndefined();
    },
  );

  it('formats canonically', () => {
    const ip = parseIp('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(ip && formatIp(ip)).toBe('2001:db8::1');
  });
});

describe('CIDR', () => {
  it('contains within the same family only', () => {
    const net = parseCidr('10.0.0.0/8');
    const v4 = parseIp('10.200.3.4');
    const v6 = parseIp('::ffff:10.200.3.4');
    expect(net && v4 && cidrContains(net, v4)).toBe(true);
    expect(net && v6 && cidrContains(net, v6)).toBe(false);
  });

  it('handles /0 and full-length prefixes', () => {
    const all = parseCidr('::/0');
    const one = parseCidr('::1');
    const ip = parseIp('2606:4700::1');
    expect(all && ip && cidrContains(all, ip)).toBe(true);
    expect(one?.prefix).toBe(128);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '10.0.0/8'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('spots host bits', () => {
    const bad = parseCidr('10.0.0.1/8');
    const good = parseCidr('10.0.0.0/8');
    expect(bad && cidrHasHostBits(bad)).toBe(true);
    expect(good && cidrHasHostBits(good)).toBe(false);
  });
});
