// Go's time.Time as templates see it: a nanosecond instant plus a zone, formatted and parsed with Go's
// reference-time layouts (`2006-01-02T15:04:05Z07:00`).

export class GoTime {
  readonly unixNs: bigint;
  /** Seconds east of UTC. */
  readonly offsetSeconds: number;
  readonly zoneName: string;
  constructor(unixNs: bigint, offsetSeconds = 0, zoneName = 'UTC') {
    this.unixNs = unixNs;
    this.offsetSeconds = offsetSeconds;
    this.zoneName = zoneName;
  }

  /** Go's default String(): `2006-01-02 15:04:05.999999999 -0700 MST`. */
  toString(): string {
    return formatGoTime(this, '2006-01-02 15:04:05.999999999 -0700 MST');
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

interface Civil {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  weekday: number;
  yearDay: number;
}

function civil(time: GoTime): Civil {
  const localNs = time.unixNs + BigInt(time.offsetSeconds) * 1_000_000_000n;
  let seconds = localNs / 1_000_000_000n;
  let nanos = Number(localNs % 1_000_000_000n);
  if (nanos < 0) {
    nanos += 1e9;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    nanos,
    weekday: date.getUTCDay(),
    yearDay: Math.floor((date.getTime() - startOfYear) / 86_400_000) + 1,
  };
}

const LAYOUT_TOKENS = [
  'January', 'Monday', '2006', '-07:00:00', '-0700', '-07:00', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07', '-07',
  'Jan', 'Mon', 'MST', '002', '__2', '_2', '01', '02', '03', '04', '05', '06', '15', 'PM', 'pm', '1', '2', '3', '4', '5',
];

type LayoutPart = { literal: string } | { token: string } | { fraction: string; digits: number; trim: boolean };

function tokenizeLayout(layout: string): LayoutPart[] {
  const parts: LayoutPart[] = [];
  let literal = '';
  let i = 0;
  outer: while (i < layout.length) {
    // Go: `.000`, `,000`, `.999`, `,999` (a run not followed by a digit) are fractional seconds.
    const fraction = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i, i + 12));
    if (fraction) {
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ fraction: fraction[0][0]!, digits: fraction[1]!.length, trim: fraction[1]![0] === '9' });
      i += fraction[0].length;
      continue;
    }
    for (const token of LAYOUT_TOKENS) {
      if (layout.startsWith(token, i)) {
        if (token === 'Jan' && layout.startsWith('January', i)) continue;
        if (literal) parts.push({ literal });
        literal = '';
        parts.push({ token });
        i += token.length;
        continue outer;
      }
    }
    literal += layout[i];
    i++;
  }
  if (literal) parts.push({ literal });
  return parts;
}

function pad(value: number, width: number, fill = '0'): string {
  return String(value).padStart(width, fill);
}

function formatOffset(offset: number, token: string): string {
  if (token.startsWith('Z') && offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hours = pad(Math.floor(abs / 3600), 2);
  const minutes = pad(Math.floor((abs % 3600) / 60), 2);
  const seconds = pad(abs % 60, 2);
  const body = token.replace(/^Z/, '-');
  switch (body) {
    case '-07':
      return sign + hours;
    case '-0700':
      return sign + hours + minutes;
    case '-07:00':
      return `${sign}${hours}:${minutes}`;
    default:
      return `${sign}${hours}:${minutes}:${seconds}`;
  }
}

export function formatGoTime(time: GoTime, layout: string): string {
  const c = civil(time);
  let out = '';
  for (const part of tokenizeLayout(layout)) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    if ('fraction' in part) {
      let digits = pad(c.nanos, 9).slice(0, part.digits);
      if (part.trim) {
        digits = digits.replace(/0+$/, '');
        if (digits) out += part.fraction + digits;
      } else out += part.fraction + digits;
      continue;
    }
    const hour12 = c.hour % 12 === 0 ? 12 : c.hour % 12;
    switch (part.token) {
      case '2006': out += pad(c.year, 4); break;
      case '06': out += pad(c.year % 100, 2); break;
      case 'January': out += MONTHS[c.month - 1]; break;
      case 'Jan': out += MONTHS[c.month - 1]!.slice(0, 3); break;
      case '01': out += pad(c.month, 2); break;
      case '1': out += String(c.month); break;
      case 'Monday': out += DAYS[c.weekday]; break;
      case 'Mon': out += DAYS[c.weekday]!.slice(0, 3); break;
      case '02': out += pad(c.day, 2); break;
      case '_2': out += pad(c.day, 2, ' '); break;
      case '2': out += String(c.day); break;
      case '002': out += pad(c.yearDay, 3); break;
      case '__2': out += pad(c.yearDay, 3, ' '); break;
      case '15': out += pad(c.hour, 2); break;
      case '03': out += pad(hour12, 2); break;
      case '3': out += String(hour12); break;
      case '04': out += pad(c.minute, 2); break;
      case '4': out += String(c.minute); break;
      case '05': out += pad(c.second, 2); break;
      case '5': out += String(c.second); break;
      case 'PM': out += c.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += c.hour >= 12 ? 'pm' : 'am'; break;
      case 'MST': out += time.zoneName; break;
      default: out += formatOffset(time.offsetSeconds, part.token);
    }
  }
  return out;
}

export class TimeParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeParseError';
  }
}

/** Go's time.Parse with the layout; the zone defaults to `defaultZone`. */
export function parseGoTime(layout: string, value: string, defaultZone: ZoneResolver = utcZone): GoTime {
  const fields = { year: 1, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0, pm: null as boolean | null };
  let offset: number | null = null;
  let zoneName = '';
  let rest = value;
  const fail = (): never => {
    throw new TimeParseError(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(layout)}`);
  };
  const takeNumber = (min: number, max: number): number => {
    const match = new RegExp(`^\\d{${min},${max}}`).exec(rest);
    if (!match) fail();
    rest = rest.slice(match![0].length);
    return Number(match![0]);
  };
  for (const part of tokenizeLayout(layout)) {
    if ('literal' in part) {
      if (!rest.startsWith(part.literal)) fail();
      rest = rest.slice(part.literal.length);
      continue;
    }
    if ('fraction' in part) {
      const match = /^[.,](\d+)/.exec(rest);
      if (match) {
        fields.nanos = Number(match[1]!.slice(0, 9).padEnd(9, '0'));
        rest = rest.slice(match[0].length);
      } else if (!part.trim) fail();
      continue;
    }
    switch (part.token) {
      case '2006': fields.year = takeNumber(4, 4); break;
      case '06': fields.year = 2000 + takeNumber(2, 2); if (fields.year >= 2069) fields.year -= 100; break;
      case 'January':
      case 'Jan': {
        const index = MONTHS.findIndex((m) => rest.startsWith(part.token === 'Jan' ? m.slice(0, 3) : m));
        if (index < 0) fail();
        rest = rest.slice(part.token === 'Jan' ? 3 : MONTHS[index]!.length);
        fields.month = index + 1;
        break;
      }
      case '01': fields.month = takeNumber(2, 2); break;
      case '1': fields.month = takeNumber(1, 2); break;
      case 'Monday':
      case 'Mon': {
        const index = DAYS.findIndex((d) => rest.startsWith(part.token === 'Mon' ? d.slice(0, 3) : d));
        if (index < 0) fail();
        rest = rest.slice(part.token === 'Mon' ? 3 : DAYS[index]!.length);
        break;
      }
      case '02': fields.day = takeNumber(2, 2); break;
      case '_2': rest = rest.replace(/^ /, ''); fields.day = takeNumber(1, 2); break;
      case '2': fields.day = takeNumber(1, 2); break;
      case '002': takeNumber(3, 3); break;
      case '__2': takeNumber(1, 3); break;
      case '15': fields.hour = takeNumber(1, 2); break;
      case '03': fields.hour = takeNumber(2, 2); break;
      case '3': fields.hour = takeNumber(1, 2); break;
      case '04': fields.minute = takeNumber(2, 2); break;
      case '4': fields.minute = takeNumber(1, 2); break;
      case '05': fields.second = takeNumber(2, 2); break;
      case '5': fields.second = takeNumber(1, 2); break;
      case 'PM':
      case 'pm': {
        const ampm = rest.slice(0, 2).toUpperCase();
        if (ampm !== 'AM' && ampm !== 'PM') fail();
        fields.pm = ampm === 'PM';
        rest = rest.slice(2);
        break;
      }
      case 'MST': {
        const match = /^[A-Z]{3,5}|^[+-]\d+/.exec(rest);
        if (!match) fail();
        zoneName = match![0];
        rest = rest.slice(zoneName.length);
        if (zoneName === 'UTC' || zoneName === 'GMT') offset = 0;
        break;
      }
      default: {
        if (part.token.startsWith('Z') && rest.startsWith('Z')) {
          offset = 0;
          rest = rest.slice(1);
          break;
        }
        const match = /^([+-])(\d{2}):?(\d{2})?(?::?(\d{2}))?/.exec(rest);
        if (!match) fail();
        offset = (match![1] === '-' ? -1 : 1) * (Number(match![2]) * 3600 + Number(match![3] ?? 0) * 60 + Number(match![4] ?? 0));
        rest = rest.slice(match![0].length);
      }
    }
  }
  if (rest.length > 0) {
    throw new TimeParseError(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: extra text: ${JSON.stringify(rest)}`);
  }
  if (fields.pm !== null) {
    if (fields.hour === 12) fields.hour = 0;
    if (fields.pm) fields.hour += 12;
  }
  const utcMs = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  const wallNs = BigInt(utcMs) * 1_000_000n + BigInt(fields.nanos);
  if (offset !== null) {
    return new GoTime(wallNs - BigInt(offset) * 1_000_000_000n, offset, offset === 0 ? 'UTC' : zoneName || '');
  }
  const zone = defaultZone(Number(wallNs / 1_000_000n));
  return new GoTime(wallNs - BigInt(zone.offsetSeconds) * 1_000_000_000n, zone.offsetSeconds, zone.name);
}

export type ZoneResolver = (wallMs: number) => { offsetSeconds: number; name: string };

export const utcZone: ZoneResolver = () => ({ offsetSeconds: 0, name: 'UTC' });

/** A zone resolver for an IANA name, using the runtime's tz database. Throws for unknown zones. */
export function ianaZone(name: string): ZoneResolver {
  if (name === '' || name === 'UTC') return utcZone;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    timeZoneName: 'short',
  });
  return (wallMs) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(wallMs)).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    const offsetSeconds = Math.round((asUtc - Math.floor(wallMs / 1000) * 1000) / 1000);
    return { offsetSeconds, name: parts.timeZoneName ?? name };
  };
}
