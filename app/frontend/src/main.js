import './style.css';
import { apiBase, resolveRoute } from './router.js';

const app = document.querySelector('#app');
const api = apiBase(import.meta.env.VITE_API_URL, window.location);

function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

function home() {
  const p = el('p', 'Find the people who know. The status page shows which release of the API is serving.');
  return [el('h1', 'experts'), p];
}

function status() {
  const out = el('p', `Asking ${api}/version …`);
  out.id = 'api-version';
  fetch(`${api}/version`, { headers: { Accept: 'application/json' } })
    .then((res) => {
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      return res.json();
    })
    .then((v) => {
      out.textContent = `API version ${v.version} (sha ${String(v.sha).slice(0, 12)})`;
    })
    .catch((err) => {
      out.textContent = `The API at ${api} did not answer: ${err.message}`;
      out.className = 'error';
    });
  return [el('h1', 'Status'), out];
}

function notFound() {
  return [el('h1', 'Not found'), el('p', `Nothing lives at ${window.location.pathname}.`)];
}

const views = { home, status, 'not-found': notFound };

function render() {
  const route = resolveRoute(window.location.pathname);
  document.title = route.title;
  app.replaceChildren(...views[route.name]());
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  if (link.pathname !== window.location.pathname) window.history.pushState({}, '', link.pathname);
  render();
});
window.addEventListener('popstate', render);
render();
