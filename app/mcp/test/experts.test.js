import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadCatalogue, searchExperts } from '../src/experts.js';

const experts = await loadCatalogue();

test('the shipped catalogue loads', () => {
  assert.ok(experts.length >= 10, `only ${experts.length} experts`);
});

test('search ranks name matches above topic and bio matches', () => {
  const cases = [
    { query: 'hopper', want: ['grace-hopper'] },
    { query: 'Compilers', want: ['grace-hopper', 'frances-allen'] },
    { query: 'distributed consensus', want: ['leslie-lamport'] },
    { query: 'dijkstra algorithms', want: ['edsger-dijkstra'] },
    { query: 'algo', want: ['ada-lovelace', 'edsger-dijkstra', 'donald-knuth', 'tony-hoare'] },
    { query: 'nobody-knows-this', want: [] },
    { query: '  ', want: [] },
  ];
  for (const { query, want } of cases) {
    assert.deepEqual(searchExperts(experts, query, 10).map((e) => e.id), want, `query ${JSON.stringify(query)}`);
  }
});

test('search returns at most limit experts', () => {
  assert.equal(searchExperts(experts, 'algorithms', 2).length, 2);
});

test('a catalogue with a duplicate id is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'experts-'));
  const path = join(dir, 'c.json');
  await writeFile(path, JSON.stringify([
    { id: 'a', name: 'A', topics: [], bio: '' },
    { id: 'a', name: 'B', topics: [], bio: '' },
  ]));
  await assert.rejects(loadCatalogue(path), /id a appears twice/);
});
