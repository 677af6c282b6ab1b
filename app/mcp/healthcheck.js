// The container health check: exits 0 when GET http://127.0.0.1:$PORT/healthz
// answers 200 within 4 s, 1 otherwise (the reason on stderr). It needs only
// node, which the image has (no shell, curl or wget).
//
//   node /app/healthcheck.js
const port = process.env.PORT || '8080';
const url = `http://127.0.0.1:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    process.stderr.write(`healthcheck: GET ${url}: ${res.status} ${(await res.text()).slice(0, 500)}\n`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`healthcheck: GET ${url}: ${err.cause?.message ?? err.message}\n`);
  process.exit(1);
}
