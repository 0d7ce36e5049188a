// Go string-literal rules, as LogQL uses them: queries are lexed with Go's scanner and unquoted with
// Prometheus' `strutil.Unquote`; Loki prints strings back with Go's `strconv.Quote`. Keeping these
// exact matters because `String()` output is what format_query and the ruler show users.

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
};

export class QuoteSyntaxError extends Error {}

function hexValue(text: string): number {
  return /^[0-9a-fA-F]+$/.test(text) ? Number.parseInt(text, 16) : Number.NaN;
}

/**
 * Unquotes a `"…"` or `'…'` (Go escapes) or `` `…` `` (raw) literal, the way Prometheus'
 * `strutil.Unquote` does. Throws QuoteSyntaxError('invalid syntax') like Go's ErrSyntax.
 */
export function unquoteGoString(literal: string): string {
  const fail = (): never => {
    throw new QuoteSyntaxError('invalid syntax');
  };
  if (literal.length < 2) fail();
  const quote = literal[0];
  if (quote !== literal[literal.length - 1]) fail();
  const body = literal.slice(1, -1);
  if (quote === '`') {
    if (body.includes('`')) fail();
    return body;
  }
  if (quote !== '"' && quote !== "'") fail();
  if (body.includes('\n')) fail();
  if (!body.includes('\\') && !body.includes(quote as string)) return body;

  // Escapes like \xff produce raw bytes, so decode through a byte buffer as Go does.
  const bytes: number[] = [];
  const pushText = (text: string): void => {
    for (const byte of Buffer.from(text, 'utf8')) bytes.push(byte);
  };
  let i = 0;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === quote) fail();
    if (ch !== '\\') {
      const codePoint = body.codePointAt(i) as number;
      const width = codePoint > 0xffff ? 2 : 1;
      pushText(body.slice(i, i + width));
      i += width;
      continue;
    }
    const escape = body[i + 1];
    if (escape === undefined) fail();
    i += 2;
    if (escape !== undefined && escape in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[escape] as number);
    } else if (escape === quote) {
      bytes.push(quote.charCodeAt(0));
    } else if (escape === 'x') {
      const value = hexValue(body.slice(i, i + 2));
      if (Number.isNaN(value) || body.slice(i, i + 2).length !== 2) fail();
      bytes.push(value);
      i += 2;
    } else if (escape === 'u' || escape === 'U') {
      const digits = escape === 'u' ? 4 : 8;
      const hex = body.slice(i, i + digits);
      const value = hexValue(hex);
      if (hex.length !== digits || Number.isNaN(value) || value > 0x10ffff || (value >= 0xd800 && value < 0xe000)) fail();
      pushText(String.fromCodePoint(value));
      i += digits;
    } else if (escape !== undefined && escape >= '0' && escape <= '7') {
      const octal = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(octal)) fail();
      const value = Number.parseInt(octal, 8);
      if (value > 255) fail();
      bytes.push(value);
      i += 2;
    } else {
      fail();
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go `strconv.Quote`: double quotes, Go escapes, printable Unicode kept as is. */
export function quoteGoString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const codePoint = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (codePoint < 0x20 || codePoint === 0x7f) out += `\\x${codePoint.toString(16).padStart(2, '0')}`;
    else if (codePoint < 0x10000) out += `\\u${codePoint.toString(16).padStart(4, '0')}`;
    else out += `\\U${codePoint.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
