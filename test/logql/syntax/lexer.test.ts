import assert from 'node:assert/strict';
import test from 'node:test';
import { lex, positionOf, tokenize } from '../../../src/logql/syntax/lexer.ts';

test('tokenize: keywords, functions and identifiers', () => {
  const table: Array<[string, string]> = [
    ['{job="train"}', 'OPEN_BRACE IDENTIFIER EQ STRING CLOSE_BRACE'],
    ['rate({a="b"}[5m])', 'RATE OPEN_PARENTHESIS OPEN_BRACE IDENTIFIER EQ STRING CLOSE_BRACE RANGE CLOSE_PARENTHESIS'],
    // Function names are identifiers unless a call follows.
    ['{rate="x"} | rate > 1', 'OPEN_BRACE IDENTIFIER EQ STRING CLOSE_BRACE PIPE IDENTIFIER GT NUMBER'],
    ['sum by (rank) (x)', 'SUM BY OPEN_PARENTHESIS IDENTIFIER CLOSE_PARENTHESIS OPEN_PARENTHESIS IDENTIFIER CLOSE_PARENTHESIS'],
    ['Count_Over_Time(', 'COUNT_OVER_TIME OPEN_PARENTHESIS'],
    ['|= != |~ !~ |> !> =~ == >= <= > <', 'PIPE_EXACT NEQ PIPE_MATCH NRE PIPE_PATTERN NPA RE CMP_EQ GTE LTE GT LT'],
    ['| logfmt --strict --keep-empty', 'PIPE LOGFMT FUNCTION_FLAG FUNCTION_FLAG'],
    ['x > 250ms and y <= 10MiB or z == -1', 'IDENTIFIER GT DURATION AND IDENTIFIER LTE BYTES OR IDENTIFIER CMP_EQ SUB NUMBER'],
    ['offset -5m', 'OFFSET DURATION'],
    ['unwrap duration(latency)', 'UNWRAP DURATION_CONV OPEN_PARENTHESIS IDENTIFIER CLOSE_PARENTHESIS'],
    ['{a="b"} # a comment |= "x"\n| json', 'OPEN_BRACE IDENTIFIER EQ STRING CLOSE_BRACE PIPE JSON'],
    ['1 /* block */ + 2', 'NUMBER ADD NUMBER'],
  ];
  for (const [query, tokens] of table) assert.equal(tokenize(query).join(' '), tokens, query);
});

test('lex: token values are decoded', () => {
  const tokens = lex('{a="x\\ty\\u00e9"} |~ `\\d+` | d > 1h15m30.918273645s | s < 2.5KiB [1w]').tokens;
  assert.equal(tokens[3]?.value, 'x\tyé');
  assert.equal(tokens[6]?.value, '\\d+');
  assert.equal(tokens.find((t) => t.type === 'DURATION')?.durationNs, 4530918273645n);
  assert.equal(tokens.find((t) => t.type === 'BYTES')?.bytes, 2560);
  assert.equal(tokens.find((t) => t.type === 'RANGE')?.durationNs, 7n * 24n * 3600n * 1_000_000_000n);
});

test('lex: errors stop the stream with Loki messages and positions', () => {
  const table: Array<[string, string, number]> = [
    ['{foo="bar}', 'literal not terminated', 5],
    ['rate({a="b"}[5minutes])', 'unknown unit "minutes" in duration "5minutes"', 12],
    ['rate({a="b"}[5)', "missing closing ']' in duration", 12],
    ['{a="\\q"}', 'invalid char escape', 3],
    ['{a="\uFFFD"}', 'invalid UTF-8 encoding', 3],
    ['x > 08', "invalid digit '8' in octal literal", 4],
  ];
  for (const [query, message, offset] of table) {
    const result = lex(query);
    assert.equal(result.error?.message, message, query);
    assert.equal(result.error?.offset, offset, query);
  }
});

test('positionOf counts lines and code points like Go', () => {
  assert.deepEqual(positionOf('ab\ncd', 4), { line: 2, column: 2 });
  assert.deepEqual(positionOf('é😀x', 3), { line: 1, column: 3 });
});
