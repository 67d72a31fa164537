// A chart the server drew as SVG (app/live_svg.py), inserted as it is, with the download buttons.
// tools.js at this module's own version (the ?v= on its URL): a browser never mixes a new file with a cached old one
const { tools } = await import(new URL(`./tools.js${new URL(import.meta.url).search}`, import.meta.url));

export default function(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector('.live-svg');
  if (!root) {
    root = document.createElement('div');
    root.className = 'live-svg';
    parentElement.appendChild(root);
  }
  if (root.drawn === data.svg) return;
  root.drawn = data.svg;
  const holder = document.createElement('div');
  holder.innerHTML = data.svg;
  const svg = holder.querySelector('svg');
  root.replaceChildren(svg, tools(svg, data.what));
}
