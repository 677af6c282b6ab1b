// The experts catalogue and its search. The catalogue is data/experts.json,
// shipped in the image; search ranks experts by how many of the query's
// words their name, topics and bio contain.
import { readFile } from 'node:fs/promises';

export const defaultCatalogue = new URL('../data/experts.json', import.meta.url);

/**
 * Reads and checks a catalogue: a JSON array of {id, name, topics[], bio}.
 * @param {URL|string} path
 * @returns {Promise<Array<{id: string, name: string, topics: string[], bio: string}>>}
 */
export async function loadCatalogue(path = defaultCatalogue) {
  const raw = await readFile(path, 'utf8');
  let experts;
  try {
    experts = JSON.parse(raw);
  } catch (err) {
    throw new Error(`catalogue ${path}: not JSON: ${err.message}`);
  }
  if (!Array.isArray(experts) || experts.length === 0) {
    throw new Error(`catalogue ${path}: want a non-empty JSON array of experts`);
  }
  const ids = new Set();
  experts.forEach((e, i) => {
    const ok = e && typeof e.id === 'string' && e.id !== '' && typeof e.name === 'string' && e.name !== '' &&
      Array.isArray(e.topics) && e.topics.every((t) => typeof t === 'string') && typeof (e.bio ?? '') === 'string';
    if (!ok) throw new Error(`catalogue ${path}: entry ${i} needs a string id and name, a topics array and a string bio`);
    if (ids.has(e.id)) throw new Error(`catalogue ${path}: id ${e.id} appears twice`);
    ids.add(e.id);
  });
  return experts;
}

function words(text) {
  return text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').split(/[^a-z0-9]+/).filter(Boolean);
}

/**
 * Searches the catalogue. Every word of the query must appear in the
 * expert's name, topics or bio (as a word prefix); a match in the name or a
 * topic counts more than one in the bio. Ties keep the catalogue's order.
 * @param {Array<{id: string, name: string, topics: string[], bio: string}>} experts
 * @param {string} query
 * @param {number} limit
 */
export function searchExperts(experts, query, limit = 5) {
  const want = words(query);
  if (want.length === 0) return [];
  const scored = [];
  experts.forEach((e, order) => {
    const name = words(e.name);
    const topics = e.topics.flatMap(words);
    const bio = words(e.bio ?? '');
    let score = 0;
    for (const w of want) {
      const hit = (list) => list.some((x) => x.startsWith(w));
      if (hit(name)) score += 3;
      else if (hit(topics)) score += 2;
      else if (hit(bio)) score += 1;
      else return; // every word must match somewhere
    }
    scored.push({ e, score, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, limit).map(({ e }) => e);
}
