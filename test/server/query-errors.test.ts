import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryError, QueryLimitError } from '../../src/logql/api.ts';
import { ClientClosedError, errorAnswer, QueryTimeoutError } from '../../src/server/query-routes.ts';
import { BadRequestError } from '../../src/server/query-params.ts';

test("errors map to Loki's status codes and plain-text bodies; internal errors stay generic and are logged", () => {
  const logged: unknown[] = [];
  const log = { error: (fields: unknown) => logged.push(fields) } as unknown as Parameters<typeof errorAnswer>[1];
  assert.deepEqual(errorAnswer(new BadRequestError('no org id', 401), log), { statusCode: 401, message: 'no org id' });
  assert.deepEqual(errorAnswer(new QueryError('unexpected IDENTIFIER', 1, 7), log), { statusCode: 400, message: 'parse error at line 1, col 7: unexpected IDENTIFIER' });
  assert.deepEqual(errorAnswer(new QueryError('parse error : bad'), log), { statusCode: 400, message: 'parse error : bad' });
  assert.deepEqual(errorAnswer(new QueryLimitError('max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)'), log).statusCode, 400);
  assert.deepEqual(errorAnswer(new QueryTimeoutError(), log).statusCode, 504);
  assert.match(errorAnswer(new QueryTimeoutError(), log).message, /^request timed out, decrease the duration of the request/);
  assert.deepEqual(errorAnswer(new ClientClosedError(), log), { statusCode: 499, message: 'the request was cancelled by the client' });
  assert.equal(logged.length, 0);
  const internal = errorAnswer(new TypeError("Cannot read properties of undefined (reading 'x')"), log);
  assert.deepEqual(internal, { statusCode: 500, message: 'internal server error' });
  assert.equal(logged.length, 1);
});
