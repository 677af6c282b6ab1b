// The HTTP application, through the official MCP client over Streamable HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { createApp } from '../src/app.js';
import { loadCatalogue } from '../src/experts.js';

let server;
let base;

before(async () => {
  const experts = await loadCatalogue();
  const app = createApp({ version: '1.4.2', sha: '4b825dc642cb6eb9a060e54bf8d69288fbee4904', experts, host: '127.0.0.1' });
  await new Promise((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve);
  });
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => server.close(resolve)));

test('/healthz and /version answer', async () => {
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).status, 'ok');
  const version = await fetch(`${base}/version`);
  assert.deepEqual(await version.json(), { version: '1.4.2', sha: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
});

test('an MCP client lists the tool and searches the experts', async () => {
  const client = new Client({ name: 'experts-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  try {
    assert.deepEqual(client.getServerVersion(), { name: 'experts-mcp', version: '1.4.2' });
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['search_experts']);
    const result = await client.callTool({ name: 'search_experts', arguments: { query: 'databases', limit: 5 } });
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.structuredContent.experts.map((e) => e.id), ['jim-gray', 'michael-stonebraker']);
    assert.match(result.content[0].text, /^Jim Gray \(databases, transactions, distributed systems\)/);
  } finally {
    await client.close();
  }
});

test('a tool call with invalid arguments is an error result', async () => {
  const client = new Client({ name: 'experts-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  try {
    const result = await client.callTool({ name: 'search_experts', arguments: { query: 'x', limit: 99 } });
    assert.equal(result.isError, true);
  } finally {
    await client.close();
  }
});

test('GET and DELETE on /mcp are 405 on this stateless server', async () => {
  for (const method of ['GET', 'DELETE']) {
    const res = await fetch(`${base}/mcp`, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'POST');
  }
});
