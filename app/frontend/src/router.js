// Client-side routes. The site's router (a CloudFront function) answers
// every path without a file extension with index.html, so each of these
// paths can be opened directly (a deep link) or reloaded.

/** @typedef {{name: string, title: string}} Route */

/** @type {Record<string, Route>} */
export const routes = {
  '/': { name: 'home', title: 'experts' },
  '/status': { name: 'status', title: 'experts: status' },
};

/** @type {Route} */
export const notFound = { name: 'not-found', title: 'experts: not found' };

/**
 * The route of a path; a trailing slash is ignored ("/status/" is "/status").
 * @param {string} pathname
 * @returns {Route}
 */
export function resolveRoute(pathname) {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  return routes[path || '/'] ?? notFound;
}

/**
 * The API's base URL: the one given at build time (VITE_API_URL), else the
 * api. host beside this app. host (the stacks serve app.<domain> and
 * api.<domain>), else this origin.
 * @param {string | undefined} configured
 * @param {{protocol: string, host: string}} location
 */
export function apiBase(configured, location) {
  if (configured) return configured.replace(/\/+$/, '');
  if (location.host.startsWith('app.')) return `${location.protocol}//api.${location.host.slice(4)}`;
  return `${location.protocol}//${location.host}`;
}
