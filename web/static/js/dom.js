// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so nothing a user or
// the server wrote can become markup.

// h builds an element: h('button', {type: 'button', onclick: fn}, 'Admit').
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// announce says msg to screen-reader users through the page's polite live region.
export function announce(msg) {
  const region = document.getElementById('announce');
  region.textContent = '';
  // A fresh text node after a tick makes screen readers speak a repeated message again.
  setTimeout(() => { region.textContent = msg; }, 50);
}

// ago says how long since an RFC 3339 time, in words: "12 min".
export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const hrs = Math.floor(s / 3600);
  return `${hrs} h ${Math.floor((s % 3600) / 60)} min`;
}

// field builds a labelled input with its hint and an error slot tied to it by aria-describedby.
export function field({ id, label, type = 'text', hint, ...rest }) {
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const input = h(type === 'textarea' ? 'textarea' : 'input', {
    id, name: id, ...(type === 'textarea' ? {} : { type }), ...rest,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
  });
  const err = h('p', { id: errId, class: 'field-error', hidden: true });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), hint && h('p', { id: hintId, class: 'hint' }, hint), input, err);
  return { wrap, input, setError(msg) {
    err.hidden = !msg; err.textContent = msg || '';
    if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  } };
}
