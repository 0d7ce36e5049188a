// Templates that would build gigabytes (`repeat 600000000`) or hit JavaScript's own limits (a printf
// precision past 100) once answered 500 or ran the server out of memory. Each is now a 400 naming
// the limit, or an answer; the server keeps serving.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, nowNs, pushJson, queryRangeUrl, startTestServer, type TestServer } from '../server/test-server.ts';

describe('template size and precision limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const t = nowNs();
    assert.equal((await pushJson(server.url, [{ stream: { job: 'tpl' }, values: [[String(t), 'loss=0.5 msg="hello"']] }])).status, 204);
  });
  after(async () => {
    await server.dispose();
  });

  const cases: Array<{ query: string; status: number; body: RegExp }> = [
    { query: '{job="tpl"} | line_format `{{ repeat 600000000 "ab" }}`', status: 400, body: /template repeat would build 1200000000 characters; a template may build at most 16777216/ },
    { query: '{job="tpl"} | line_format `{{ "x" | repeat 600000000 }}`', status: 400, body: /template repeat would build/ },
    { query: '{job="tpl"} | line_format `{{ alignLeft 900000000 .job }}`', status: 400, body: /template alignLeft would build/ },
    { query: '{job="tpl"} | line_format `{{ indent 900000000 .job }}`', status: 400, body: /template indent would build/ },
    { query: '{job="tpl"} | line_format `{{ printf "%900000000d" 1 }}`', status: 400, body: /template printf width/ },
    { query: '{job="tpl"} | label_format x=`{{ repeat 600000000 "ab" }}`', status: 400, body: /template repeat would build/ },
    { query: '{job="tpl"} | line_format `{{ printf "%.200f" 0.5 }}`', status: 200, body: /0\.50000/ },
    { query: '{job="tpl"} | line_format `{{ printf "%.0g" 0.5 }}`', status: 200, body: /"0\.5"/ },
    { query: '{job="tpl"} | line_format `{{ repeat 3 "ab" }}`', status: 200, body: /"ababab"/ },
  ];
  for (const item of cases) {
    test(`${item.query} → ${item.status}`, async () => {
      const { status, text } = await getJson(queryRangeUrl(server.url, item.query));
      assert.equal(status, item.status, text.slice(0, 300));
      assert.match(text, item.body);
    });
  }

  test('the server still answers afterwards', async () => {
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
  });
});
