import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apiBase, resolveRoute } from '../src/router.js';

test('paths resolve to their routes, unknown ones to not-found', () => {
  const cases = { '/': 'home', '/status': 'status', '/status/': 'status', '/nope': 'not-found', '': 'home' };
  for (const [path, want] of Object.entries(cases)) {
    assert.equal(resolveRoute(path).name, want, path);
  }
});

test('the API base is the configured URL, else the api. host beside app., else this origin', () => {
  assert.equal(apiBase('http://127.0.0.1:8000/', { protocol: 'https:', host: 'app.x.com' }), 'http://127.0.0.1:8000');
  assert.equal(apiBase(undefined, { protocol: 'https:', host: 'app.dev.experts.example.com' }), 'https://api.dev.experts.example.com');
  assert.equal(apiBase('', { protocol: 'http:', host: 'localhost:5173' }), 'http://localhost:5173');
});
