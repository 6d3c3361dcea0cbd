// The login form; on success, back to the page that sent us here.
import { api } from './api.js';
import { t } from './i18n.js';
import { h } from './ui.js';

export async function render(main) {
  const error = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      await api('/api/auth/login', { json: { username: user.value, password: pass.value } });
    } catch (err) {
      error.textContent = err.status === 401 ? t('wrong_login') : err.message;
      return;
    }
    const next = new URLSearchParams(location.search).get('next');
    location.assign(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  };
  main.append(h('form', { class: 'login card', onsubmit: submit },
    h('h1', {}, t('app')),
    h('label', {}, t('username'), user),
    h('label', {}, t('password'), pass),
    h('button', { type: 'submit', class: 'primary' }, t('login')),
    error));
}
