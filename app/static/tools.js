// tools(svg, what): a bar of two buttons that download what the SVG shows, as the plotly charts' camera and SVG
// buttons do (app/charts.py): an SVG, or a PNG at 2x its size on the page.
export function tools(svg, what = 'board') {
  const bar = document.createElement('div');
  bar.className = 'tools';
  const save = (blob, name) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const text = () => new XMLSerializer().serializeToString(svg);
  const button = (label, title, act) => {
    const b = document.createElement('button');
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', act);
    bar.appendChild(b);
  };
  button('PNG', `Download the ${what} as a PNG`, () => {
    const box = svg.getBoundingClientRect(), w = box.width, h = box.height, img = new Image();
    img.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = 2 * w;
      canvas.height = 2 * h;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.scale(2, 2);
      ctx.drawImage(img, 0, 0, w, h);
      canvas.toBlob((blob) => save(blob, 'othello-gpt.png'), 'image/png');
    };
    const sized = svg.cloneNode(true);  // an image needs a size in pixels: the one drawn on the page
    sized.setAttribute('width', w);
    sized.setAttribute('height', h);
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(sized));
  });
  button('SVG', `Download the ${what} as an SVG`,
         () => save(new Blob([text()], {type: 'image/svg+xml'}), 'othello-gpt.svg'));
  return bar;
}
