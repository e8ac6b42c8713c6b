import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../src/errors.js';
import { createEgressPolicy, parseAllowList } from '../../../src/adapters/http/egress/ip-policy.js';

describe('parseAllowList', () => {
  it('parses the EGRESS_ALLOW format', () => {
    expect(parseAllowList('127.0.0.1,::1,localhost,10.0.0.0/8')).toEqual(['127.0.0.1', '::1', 'localhost', '10.0.0.0/8']);
  });

  it('trims, ignores empty items and normalises hostnames', () => {
    expect(parseAllowList(' Payments.Internal. , ,fd00::/8,')).toEqual(['payments.internal', 'fd00::/8']);
    expect(parseAllowList(undefined)).toEqual([]);
    expect(parseAllowList('')).toEqual([]);
  });

  it('turns IDN hostnames into the punycode form the connector sees', () => {
    expect(parseAllowList('bücher.example')).toEqual(['xn--bcher-kva.example']);
  });

  it.each([
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not a valid IP address or CIDR/],
    ['10.0.0.1/8', /"10\.0\.0\.1\/8" has bits set below its \/8 prefix/],
    ['127.1', /"127\.1" is not a valid IP address or CIDR/],
    ['0x7f.1', /"0x7f\.1" is an IP address in a legacy spelling; write it as 127\.0\.0\.1/],
    ['*.example.com', /"\*\.example\.com" is not a hostname, IP or CIDR/],
    ['localhost:8080', /"localhost:8080" is not a valid IP address or CIDR/],
    ['http://example.com', /"http:\/\/example\.com" is not a valid IP/],
    ['a..b', /"a\.\.b" is not a valid hostname/],
  ])('rejects %s naming the entry', (entry, message) => {
    let error: unknown;
    try {
      parseAllowList(`127.0.0.1,${entry}`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toMatch(message);
    expect((error as ConfigurationError).issues[0]?.path).toBe('EGRESS_ALLOW[1]');
  });
});

describe('createEgressPolicy', () => {
  it('allows public addresses and denies special ranges by default', () => {
    const policy = createEgressPolicy({ allow: [] });
    expect(policy.checkAddress('93.184.216.34')).toEqual({ allowed: true });
    expect(policy.checkAddress('2606:4700:4700::1111')).toEqual({ allowed: true });
    for (const ip of ['127.0.0.1', '::1', '10.1.1.1', '169.254.169.254', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '224.0.0.1']) {
      expect(policy.checkAddress(ip).allowed).toBe(false);
    }
  });

  it('explains a refusal', () => {
    const decision = createEgressPolicy({ allow: [] }).checkAddress('169.254.169.254', 'metadata.internal');
    expect(decision).toEqual({
      allowed: false,
      reason:
        'egress to 169.254.169.254 (resolved from "metadata.internal") refused: link-local address ' +
        '(169.254.0.0/16, cloud metadata endpoint); add it to EGRESS_ALLOW to open it',
    });
  });

  it('fails closed on anything that is not an IP', () => {
    const policy = createEgressPolicy({ allow: ['0.0.0.0/0', '::/0'] });
    expect(policy.checkAddress('127.1').allowed).toBe(false);
    expect(policy.checkAddress('localhost').allowed).toBe(false);
  });

  it('opens IPs and CIDRs', () => {
    const policy = createEgressPolicy({ allow: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8'] });
    expect(policy.checkAddress('127.0.0.1').allowed).toBe(true);
    expect(policy.checkAddress('127.0.0.2').allowed).toBe(false);
    expect(policy.checkAddress('10.9.8.7').allowed).toBe(true);
    expect(policy.checkAddress('fd00:ec2::254').allowed).toBe(true);
    expect(policy.checkAddress('fc00::1').allowed).toBe(false);
  });

  it('an IPv4 entry opens the same host written as mapped/compatible IPv6, not via a translator', () => {
    const policy = createEgressPolicy({ allow: ['127.0.0.1'] });
    expect(policy.checkAddress('::ffff:127.0.0.1').allowed).toBe(true);
    expect(policy.checkAddress('::ffff:7f00:1').allowed).toBe(true);
    expect(policy.checkAddress('::127.0.0.1').allowed).toBe(true);
    expect(policy.checkAddress('64:ff9b::7f00:1').allowed).toBe(false);
    expect(policy.checkAddress('2002:7f00:1::1').allowed).toBe(false);
  });

  it('opens a hostname case-insensitively, ignoring a trailing dot, for whatever it resolves to', () => {
    const policy = createEgressPolicy({ allow: ['LocalHost.'] });
    expect(policy.allow).toEqual(['localhost']);
    expect(policy.checkAddress('127.0.0.1', 'localhost').allowed).toBe(true);
    expect(policy.checkAddress('::1', 'LOCALHOST.').allowed).toBe(true);
    expect(policy.checkAddress('127.0.0.1').allowed).toBe(false);
    expect(policy.checkAddress('127.0.0.1', 'localhost.evil.example').allowed).toBe(false);
  });

  it('rejects invalid entries with a ConfigurationError', () => {
    expect(() => createEgressPolicy({ allow: ['nope/12'] })).toThrow(ConfigurationError);
  });
});
