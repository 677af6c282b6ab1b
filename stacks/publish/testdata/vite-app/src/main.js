import './style.css';
import logo from './logo.svg';

const app = document.querySelector('#app');
app.innerHTML = `<img src="${logo}" alt="" /><h1>Experts</h1><button id="more">More</button>`;
document.querySelector('#more').addEventListener('click', async () => {
  const { details } = await import('./details.js');
  app.append(details(window.env));
});
