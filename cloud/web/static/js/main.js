// The console's entry: who is logged in, the navigation, and the page the path names.
import { api } from './api.js';
import { lang, setLang, t } from './i18n.js';
import { fill, h, showError } from './ui.js';

const PAGES = [
  [/^\/login$/, () => import('./login.js')],
  [/^\/(alarms)?$/, () => import('./feed.js')],
  [/^\/events\/([0-9A-HJKMNP-TV-Z]{26})$/, () => import('./event.js')],
  [/^\/board$/, () => import('./board.js')],
  [/^\/heatmap$/, () => import('./heatmap.js')],
  [/^\/m$/, () => import('./phone.js')],
  [/^\/install$/, () => import('./install.js')],
];

// Where each role starts when it opens the console's root.
const HOME = { grid_worker: '/m', installer: '/install' };

const NAV = [
  ['/alarms', 'nav.alarms', ['admin', 'operator']],
  ['/board', 'nav.board', ['admin', 'operator', 'installer']],
  ['/heatmap', 'nav.heatmap', ['admin', 'operator', 'grid_worker']],
  ['/m', 'nav.phone', ['admin', 'operator', 'grid_worker']],
  ['/install', 'nav.install', ['admin', 'installer']],
];

function header(me) {
  const top = document.getElementById('top');
  const links = me
    ? NAV.filter(([, , roles]) => roles.includes(me.role)).map(([href, key]) =>
        h('a', { href, class: location.pathname === href ? 'active' : null }, t(key)))
    : [];
  const logout = async () => {
    await api('/api/auth/logout', { method: 'POST' });
    location.assign('/login');
  };
  fill(top,
    h('a', { href: '/', class: 'brand' }, t('app')),
    h('nav', {}, links),
    h('span', { class: 'spacer' }),
    h('button', {
      class: 'link', type: 'button', lang: lang() === 'zh' ? 'en' : 'zh-CN',
      onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); },
    }, t('lang.switch')),
    me ? h('span', { class: 'who' }, me.username) : null,
    me ? h('button', { class: 'link', type: 'button', onclick: logout }, t('logout')) : null,
  );
}

async function start() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app');
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const found = PAGES.find(([re]) => re.test(path));
  if (!found) {
    header(null);
    main.replaceChildren(h('p', {}, t('not_found')));
    return;
  }
  const [re, load] = found;
  const module = await load();
  let me = null;
  if (path !== '/login') {
    try {
      me = await api('/api/me');
    } catch (err) {
      if (err.status === 401) return; // on the way to the login page
      throw err;
    }
    if (path === '/' && HOME[me.role]) {
      location.replace(HOME[me.role]);
      return;
    }
  }
  header(me);
  main.replaceChildren();
  try {
    await module.render(main, me, ...path.match(re).slice(1));
  } catch (err) {
    if (err.status === 401) return;
    showError(main, err.status === 403 ? t('forbidden') : err);
  }
  document.body.dataset.ready = '1';
}

start();
