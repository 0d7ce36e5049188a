// IP matching for `|= ip("…")` line filters and `addr = ip("…")` label filters: a single address, a
// range `a-b`, or a CIDR, IPv4 or IPv6. Addresses are compared as bigints.

export class IpPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpPatternError';
  }
}

interface IpRange {
  v6: boolean;
  low: bigint;
  high: bigint;
}

export interface IpMatcher {
  matches(address: string): boolean;
  /** Whether any IP-looking token in the line matches. */
  lineContains(line: string): boolean;
}

export function parseIp(text: string): { v6: boolean; value: bigint } | null {
  if (text.includes(':')) return parseIpv6(text);
  return parseIpv4(text);
}

function parseIpv4(text: string): { v6: boolean; value: bigint } | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === '0')) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return { v6: false, value };
}

function parseIpv6(text: string): { v6: boolean; value: bigint } | null {
  let head = text;
  let v4Tail: bigint | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return null;
    v4Tail = v4.value;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = left.length + right.length;
  if (halves.length === 1 && groups !== 8) return null;
  if (halves.length === 2 && groups > 7) return null;
  const all = [...left, ...Array<string>(8 - groups).fill('0'), ...right];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (v4Tail !== null) value = (value & ~0xffffffffn) | v4Tail;
  return { v6: true, value };
}

function parseRange(pattern: string): IpRange {
  const slash = pattern.indexOf('/');
  if (slash >= 0) {
    const base = parseIp(pattern.slice(0, slash));
    const bits = pattern.slice(slash + 1);
    if (!base || !/^\d+$/.test(bits)) throw new IpPatternError('ip: invalid pattern');
    const width = base.v6 ? 128n : 32n;
    const prefix = BigInt(bits);
    if (prefix > width) throw new IpPatternError('ip: invalid pattern');
    const hostMask = (1n << (width - prefix)) - 1n;
    return { v6: base.v6, low: base.value & ~hostMask, high: (base.value & ~hostMask) | hostMask };
  }
  const dash = pattern.indexOf('-');
  if (dash >= 0) {
    const low = parseIp(pattern.slice(0, dash));
    const high = parseIp(pattern.slice(dash + 1));
    if (!low || !high || low.v6 !== high.v6 || high.value < low.value) throw new IpPatternError('ip: invalid pattern');
    return { v6: low.v6, low: low.value, high: high.value };
  }
  const single = parseIp(pattern);
  if (!single) throw new IpPatternError('ip: invalid pattern');
  return { v6: single.v6, low: single.value, high: single.value };
}

const IP_CHAR = /[0-9a-fA-F:.]/;

export function compileIpMatcher(pattern: string): IpMatcher {
  const range = parseRange(pattern);
  const matches = (address: string): boolean => {
    const ip = parseIp(address.trim());
    return ip !== null && ip.v6 === range.v6 && ip.value >= range.low && ip.value <= range.high;
  };
  return {
    matches,
    lineContains(line: string): boolean {
      let i = 0;
      while (i < line.length) {
        if (!IP_CHAR.test(line[i]!)) {
          i++;
          continue;
        }
        let end = i;
        while (end < line.length && IP_CHAR.test(line[end]!)) end++;
        let token = line.slice(i, end);
        token = token.replace(/^\.+/, '').replace(/[.:]+$/, (tail) => (tail === '::' ? tail : ''));
        if ((token.includes('.') || token.includes(':')) && matches(token)) return true;
        i = end;
      }
      return false;
    },
  };
}
