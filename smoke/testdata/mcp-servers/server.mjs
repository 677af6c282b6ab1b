// An MCP server on the official SDK's Streamable HTTP transport, in the
// mode the smoke tests ask for:
//
//   node server.mjs stateful|stateless json|sse
//
// It listens on a free loopback port, prints "listening <port>" and serves
// GET /healthz and the MCP endpoint /mcp.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const [mode, reply] = process.argv.slice(2);
if (!['stateful', 'stateless'].includes(mode) || !['json', 'sse'].includes(reply)) {
  console.error('usage: node server.mjs stateful|stateless json|sse');
  process.exit(2);
}
const enableJsonResponse = reply === 'json';

function newServer() {
  const server = new McpServer({ name: 'experts-fixture', version: '1.0.0' });
  server.registerTool(
    'find_experts',
    { description: 'Finds experts by topic', inputSchema: { topic: z.string() } },
    async ({ topic }) => ({ content: [{ type: 'text', text: `no experts on ${topic}` }] }),
  );
  return server;
}

const sessions = new Map();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

async function handleMCP(req, res) {
  const body = req.method === 'POST' ? await readBody(req) : undefined;
  if (mode === 'stateless') {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse });
    const server = newServer();
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }
  const id = req.headers['mcp-session-id'];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport) {
    if (id || req.method !== 'POST' || !body || body.method !== 'initialize') {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no valid session' }, id: null }));
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse,
      onsessioninitialized: (sid) => { sessions.set(sid, transport); },
    });
    transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  if (path === '/healthz' && req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  if (path === '/mcp') {
    handleMCP(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});
