// The HTTP application: /healthz, /version and the MCP endpoint at /mcp
// (Streamable HTTP, stateless: every POST gets its own server and transport,
// so any task behind the load balancer can answer any request).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import * as z from 'zod/v4';

import { searchExperts } from './experts.js';

/**
 * An MCP server offering the search_experts tool over the catalogue.
 * @param {{version: string, experts: Array<object>}} opts
 */
export function newMcpServer({ version, experts }) {
  const server = new McpServer({ name: 'experts-mcp', version });
  const expert = z.object({
    id: z.string(),
    name: z.string(),
    topics: z.array(z.string()),
    bio: z.string(),
  });
  server.registerTool(
    'search_experts',
    {
      title: 'Search the experts',
      description: 'Finds experts whose name, topics or bio contain every word of the query, best matches first.',
      inputSchema: {
        query: z.string().min(1).max(200).describe('words to look for, such as "distributed consensus"'),
        limit: z.number().int().min(1).max(20).default(5).describe('how many experts to return at most'),
      },
      outputSchema: { experts: z.array(expert), count: z.number().int() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ query, limit }) => {
      const found = searchExperts(experts, query, limit);
      const text = found.length === 0
        ? `No expert matches "${query}".`
        : found.map((e) => `${e.name} (${e.topics.join(', ')}): ${e.bio}`).join('\n');
      return {
        content: [{ type: 'text', text }],
        structuredContent: { experts: found, count: found.length },
      };
    },
  );
  return server;
}

const methodNotAllowed = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this server is stateless, POST JSON-RPC to /mcp' },
  id: null,
};

/**
 * The express app.
 * @param {{version: string, sha: string, experts: Array<object>, host?: string, log?: (msg: string) => void}} opts
 */
export function createApp({ version, sha, experts, host = '0.0.0.0', log = () => {} }) {
  const app = createMcpExpressApp({ host });

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok', experts: experts.length });
  });

  app.get('/version', (_req, res) => {
    res.status(200).json({ version, sha });
  });

  app.post('/mcp', async (req, res) => {
    const server = newMcpServer({ version, experts });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (err) {
      log(`mcp request failed: ${err?.message ?? err}`);
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  });
  app.get('/mcp', (_req, res) => res.status(405).set('Allow', 'POST').json(methodNotAllowed));
  app.delete('/mcp', (_req, res) => res.status(405).set('Allow', 'POST').json(methodNotAllowed));

  return app;
}
