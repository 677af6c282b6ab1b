export function details(env) {
  const p = document.createElement('p');
  p.textContent = `API at ${env && env.apiUrl}`;
  return p;
}
