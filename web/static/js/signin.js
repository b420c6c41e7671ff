// The clinician's sign-in page.
import { h, field, announce } from './dom.js';

export function signinView({ main, session, signedIn }) {
  const email = field({ id: 'email', label: 'Email address', type: 'email', autocomplete: 'username', required: true, spellcheck: false });
  const password = field({ id: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true });
  const summary = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signin-title' },
    summary, email.wrap, password.wrap, h('div', { class: 'actions' }, submit));

  const fail = (title, msgs) => {
    summary.replaceChildren(h('h2', {}, title), ...(msgs.length ? [h('ul', {}, msgs.map(([id, m]) => h('li', {}, h('a', { href: `#${id}`, onclick: (e) => { e.preventDefault(); document.getElementById(id).focus(); } }, m))))] : []));
    summary.hidden = false;
    summary.focus();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    email.setError(''); password.setError('');
    const errs = [];
    if (!email.input.value.trim()) { email.setError('Enter your email address'); errs.push(['email', 'Enter your email address']); }
    if (!password.input.value) { password.setError('Enter your password'); errs.push(['password', 'Enter your password']); }
    if (errs.length) return fail('There is a problem', errs);
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const me = await session.login(email.input.value.trim(), password.input.value);
      password.input.value = '';
      announce(`Signed in as ${me.name}`);
      signedIn();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (err.status === 401) fail('Email or password is not right', [['email', 'Check your email address and password']]);
      else if (err.status === 429) fail('Too many attempts', [['email', `Wait ${err.retryAfter || 60} seconds, then try again`]]);
      else fail('Sign-in failed', [['email', err.message]]);
    }
  });

  main.append(h('div', { class: 'panel narrow' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'For practice staff and care-home staff. Patients and guests join a call from their link.'),
    form));
}
