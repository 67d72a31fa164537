// The browser window's size (app/viewport.py), reported once and again after each resize.

export default function(component) {
  const { setStateValue } = component;
  const send = () => setStateValue('size', [window.innerWidth, window.innerHeight]);
  send();
  let timer;
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(send, 250); });
}
