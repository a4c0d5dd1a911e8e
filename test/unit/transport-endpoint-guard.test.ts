import { describe, expect, it } from 'vitest';
import { checkEndpointUrl, isPublicAddress } from '../../adapters/transport/endpoint-guard.ts';

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['100.63.255.255', true],
    ['100.128.0.0', true],
    ['172.15.255.255', true],
    ['172.32.0.0', true],
    ['192.0.1.1', true],
    ['198.17.255.255', true],
    ['198.20.0.0', true],
    ['223.255.255.255', true],
    ['0.0.0.0', false],
    ['0.1.2.3', false],
    ['10.0.0.1', false],
    ['10.255.255.255', false],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['169.254.169.254', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.0.0.8', false],
    ['192.0.2.10', false],
    ['192.168.1.1', false],
    ['198.18.0.1', false],
    ['198.19.255.255', false],
    ['198.51.100.7', false],
    ['203.0.113.9', false],
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['240.0.0.1', false],
    ['255.255.255.255', false],
  ])('IPv4 %s → %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });

  it.each([
    ['2606:4700:4700::1111', true],
    ['2a00:1450:4001:82b::200e', true],
    ['2001:4860:4860::8888', true],
    ['::ffff:8.8.8.8', true],
    ['::ffff:808:808', true],
    ['64:ff9b::8.8.8.8', true],
    ['::', false],
    ['::1', false],
    ['0:0:0:0:0:0:0:1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:a00:1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:0.0.0.0', false],
    ['::127.0.0.1', false], // deprecated IPv4-compatible
    ['64:ff9b::10.0.0.1', false],
    ['64:ff9b:1::1', false],
    ['fc00::1', false],
    ['fd12:3456:789a::1', false],
    ['fe80::1', false],
    ['febf::1', false],
    ['fec0::1', false],
    ['ff02::1', false],
    ['ff05::1:3', false],
    ['2001:db8::1', false],
    ['2001::1', false], // Teredo
    ['2002:c000:0204::1', false], // 6to4
    ['3fff::1', false],
    ['100::1', false],
    ['fe80::1%eth0', false],
  ])('IPv6 %s → %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });

  it.each(['', 'localhost', 'example.com', '1.2.3', '256.1.1.1', '01.1.1.1', '::g', '1::2::3'])(
    'refuses non-address %j',
    (text) => {
      expect(isPublicAddress(text)).toBe(false);
    },
  );
});

describe('checkEndpointUrl', () => {
  it.each([
    'https://partner.example/hooks',
    'https://partner.example:8443/hooks?tenant=7',
    'https://8.8.8.8/x',
    'https://[2606:4700:4700::1111]/x',
  ])('accepts %s', (url) => {
    const result = checkEndpointUrl(url, false);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.href).toBe(new URL(url).href);
  });

  it.each([
    ['http://partner.example/', 'scheme'],
    ['ftp://partner.example/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['not a url', 'valid'],
    ['https://user:pass@partner.example/', 'credentials'],
    ['https://user@partner.example/', 'credentials'],
    ['https://localhost/', 'loopback'],
    ['https://LOCALHOST./', 'loopback'],
    ['https://api.localhost/', 'loopback'],
    ['https://127.0.0.1/', 'public'],
    ['https://2130706433/', 'public'], // 127.0.0.1 as one number
    ['https://0x7f.1/', 'public'],
    ['https://10.1.2.3/', 'public'],
    ['https://169.254.169.254/latest/meta-data', 'public'],
    ['https://0.0.0.0/', 'public'],
    ['https://[::1]/', 'public'],
    ['https://[::ffff:10.0.0.1]/', 'public'],
    ['https://[fd00::1]/', 'public'],
    ['https://[fe80::1]/', 'public'],
  ])('refuses %s', (url, why) => {
    const result = checkEndpointUrl(url, false);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('ENDPOINT_REFUSED');
      expect(result.error.retryable).toBe(false);
      expect(result.error.message).toContain(why);
    }
  });

  it.each([
    'http://127.0.0.1:8080/in',
    'http://localhost:3000/',
    'https://[::1]/',
    'http://10.0.0.5/',
  ])('allows %s with allowInsecure', (url) => {
    expect(checkEndpointUrl(url, true).ok).toBe(true);
  });

  it.each(['http://user:pw@127.0.0.1/', 'ftp://127.0.0.1/'])(
    'still refuses %s with allowInsecure',
    (url) => {
      expect(checkEndpointUrl(url, true).ok).toBe(false);
    },
  );
});
