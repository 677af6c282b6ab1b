// Entry point: `node src/server.js`. Listens on $HOST:$PORT (default
// 0.0.0.0:8080) and reports $VERSION and $GIT_SHA (the image's build args)
// at /version. SIGTERM and SIGINT close the listener and let requests in
// flight finish.
import { createApp } from './app.js';
import { loadCatalogue } from './experts.js';

const log = (msg) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

async function main() {
  const port = Number.parseInt(process.env.PORT ?? '8080', 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT ${JSON.stringify(process.env.PORT)} is not a port number`);
  }
  const host = process.env.HOST || '0.0.0.0';
  const version = process.env.VERSION || '0.0.0-dev';
  const sha = process.env.GIT_SHA || 'unknown';
  const experts = await loadCatalogue(process.env.EXPERTS_CATALOGUE || undefined);
  const app = createApp({ version, sha, experts, host, log });
  const server = app.listen(port, host, (err) => {
    if (err) {
      log(`listen on ${host}:${port}: ${err.message}`);
      process.exit(1);
    }
    log(`experts mcp ${version} (sha ${sha}) serving ${experts.length} experts on ${host}:${server.address().port}`);
  });
  const stop = (signal) => {
    log(`${signal}: closing`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  log(`mcp: ${err.message}`);
  process.exit(1);
});
