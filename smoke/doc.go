// Package smoke runs the post-deploy checks that decide whether a release
// is promoted or rolled back: the API (/healthz, /openapi.json, an endpoint
// that must refuse anonymous callers, /version), the MCP server (/healthz and
// an MCP initialize + tools/list over Streamable HTTP) and the frontend (the
// HTML entry point and every script and stylesheet it references).
//
// Plan turns target URLs into checks; Runner.Run runs them concurrently under
// a retry policy (exponential backoff with jitter, Retry-After honored, a
// timeout per request and one overall deadline) and returns a Report that can
// be written as text, JSON, JUnit XML or a Markdown table.
//
// A check attempt fails either definitively (a 200 on the protected
// endpoint, a 404, invalid JSON, a TLS verification error, a redirect loop,
// a body over the size limit), which stops that check at once, or
// transiently (connection errors, timeouts, 408, 429, 5xx, a /version that
// still reports the previous release), which is retried within the budget.
package smoke
