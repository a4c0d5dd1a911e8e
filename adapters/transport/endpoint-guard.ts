/**
 * @module SSRF guard for partner endpoints. Checked twice (reliability research O8): at
 * configuration time on the URL (`checkEndpointUrl`), and at connect time on every address the
 * host name resolves to (`isPublicAddress`, used by the push client's DNS lookup), so a name that
 * later resolves to an internal address (DNS rebinding) is still refused.
 */

import { isIP } from 'node:net';
import { err, ok, type Result } from '../../gateway/core/errors.ts';

/**
 * Parses a partner endpoint and refuses what the gateway must never call: anything but https
 * (http too when `allowInsecure`), credentials in the URL, and loopback / private / otherwise
 * non-public IP literals or the name `localhost` unless `allowInsecure` (local tests, benches).
 */
export function checkEndpointUrl(url: string, allowInsecure: boolean): Result<URL> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('not a valid absolute URL');
  }
  if (parsed.protocol !== 'https:' && !(allowInsecure && parsed.protocol === 'http:')) {
    return refuse(allowInsecure ? 'scheme must be https or http' : 'scheme must be https');
  }
  // Credentials in a URL end up in logs and configuration dumps; secrets travel elsewhere.
  if (parsed.username !== '' || parsed.password !== '') {
    return refuse('credentials in the URL are not allowed');
  }
  if (!allowInsecure) {
    const host = hostOf(parsed);
    if (isLocalhostName(host)) return refuse(`host ${host} is loopback`);
    // The WHATWG parser has already normalised IPv4 shorthands (0x7f.1, 2130706433) to dotted form.
    if (isIP(host) !== 0 && !isPublicAddress(host)) {
      return refuse(`address ${host} is not a public address`);
    }
  }
  return ok(parsed);
}

/** The URL's host name without IPv6 brackets, lower-case. */
export function hostOf(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761 §6.3), whatever DNS says. */
export function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * True only for a globally routable unicast address. IPv4: everything outside the special-purpose
 * blocks below. IPv6: only 2000::/3 (minus documentation, 6to4, IETF protocol blocks), plus
 * IPv4-mapped and NAT64 addresses, judged by the IPv4 address they carry. Anything that is not
 * an IP address, or carries a zone id (link scope), is not public.
 */
export function isPublicAddress(ip: string): boolean {
  if (ip.includes('%')) return false;
  switch (isIP(ip)) {
    case 4: {
      const v4 = parseIPv4(ip);
      return v4 !== undefined && isPublicIPv4(v4);
    }
    case 6: {
      const v6 = parseIPv6(ip);
      return v6 !== undefined && isPublicIPv6(v6);
    }
    default:
      return false;
  }
}

// [network, prefix length] — IANA IPv4 special-purpose registry, plus multicast and class E.
const NON_PUBLIC_IPV4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", includes the unspecified address
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast 255.255.255.255
];

const NON_PUBLIC_IPV4_RANGES = NON_PUBLIC_IPV4.map(([network, bits]) => {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (parseIPv4(network)! & mask) >>> 0, mask };
});

function isPublicIPv4(address: number): boolean {
  return NON_PUBLIC_IPV4_RANGES.every(({ base, mask }) => (address & mask) >>> 0 !== base);
}

function isPublicIPv6(bytes: Uint8Array): boolean {
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64 well-known prefix) reach IPv4 hosts.
  if (startsWith(bytes, IPV4_MAPPED_PREFIX) || startsWith(bytes, NAT64_PREFIX)) {
    return isPublicIPv4(readUint32(bytes, 12));
  }
  const first = bytes[0]!;
  // Global unicast is 2000::/3; everything else (::/8, fc00::/7, fe80::/10, ff00::/8, …) is not.
  if ((first & 0xe0) !== 0x20) return false;
  const word0 = (first << 8) | bytes[1]!;
  const word1 = (bytes[2]! << 8) | bytes[3]!;
  if (word0 === 0x2001 && word1 < 0x0200) return false; // 2001::/23 IETF protocol assignments (Teredo, ORCHID …)
  if (word0 === 0x2001 && word1 === 0x0db8) return false; // 2001:db8::/32 documentation
  if (word0 === 0x2002) return false; // 6to4, deprecated; would tunnel to an embedded IPv4 address
  if (word0 === 0x3fff && word1 < 0x1000) return false; // 3fff::/20 documentation
  return true;
}

const IPV4_MAPPED_PREFIX = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff);
const NAT64_PREFIX = Uint8Array.of(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0);

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

/** Dotted-quad to an unsigned 32-bit number; callers have checked the form with `isIP`. */
function parseIPv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Textual IPv6 (with `::` and an optional dotted IPv4 tail) to 16 bytes. */
function parseIPv6(ip: string): Uint8Array | undefined {
  let text = ip.toLowerCase();
  const words: number[] = [];
  // A dotted IPv4 tail becomes the last two 16-bit words.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? (halves[1] ?? '').split(':') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  for (const group of [
    ...head,
    ...Array<string>(halves.length === 2 ? missing : 0).fill('0'),
    ...rest,
  ]) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    words.push(parseInt(group, 16));
  }
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

function refuse(reason: string): Result<URL> {
  return err('ENDPOINT_REFUSED', `endpoint refused: ${reason}`, false);
}
