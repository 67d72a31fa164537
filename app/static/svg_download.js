// Beside each plotly camera, an "SVG" button (app/charts.py): it asks plotly's own download for the SVG format
// for one click (plotly reads gd._context.toImageButtonOptions when clicked) and puts the PNG setting back.

export default function(component) {
  if (window.__othelloSvgDownload) return;
  window.__othelloSvgDownload = true;
  const ICON = '<svg viewBox="0 0 26 14" width="26" height="14"><text x="1" y="11" font-size="10" '
             + 'font-family="sans-serif" font-weight="bold" fill="currentColor">SVG</text></svg>';
  const add = (gd) => {
    const camera = gd.querySelector('.modebar-btn[data-title^="Download plot"]');
    if (!camera || !gd._context || camera.parentElement.querySelector('.othello-svg')) return;
    const svg = document.createElement('a');
    svg.className = camera.className + ' othello-svg';
    svg.setAttribute('rel', 'tooltip');
    svg.setAttribute('data-title', 'Download plot as an SVG');
    svg.innerHTML = ICON;
    svg.style.color = 'rgba(68, 68, 68, 0.5)';
    svg.addEventListener('click', (event) => {
      event.preventDefault();
      const options = gd._context.toImageButtonOptions;
      gd._context.toImageButtonOptions = Object.assign({}, options, {format: 'svg'});
      try { camera.click(); } finally { gd._context.toImageButtonOptions = options; }
    });
    camera.after(svg);
  };
  let timer;
  const scan = () => { clearTimeout(timer); timer = setTimeout(
    () => document.querySelectorAll('.js-plotly-plot').forEach(add), 150); };
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
  scan();
}
