/* global document, window, location, history, fetch, console, Element, HTMLAnchorElement, MouseEvent,
   HTMLSelectElement */
// The dashboard's entry: which view a path shows, for whom. Roles come from the node
// (`/dashboard/session.json` verifies the token), not from reading the token in the browser; the
// API checks them again on every call, so a view the role may not see would only get 403s.
import { csrf, getJson, signOut, SignInNeeded, token } from './api.js';
import { createRequestPage } from './create-request.js';
import { h, render, withNode } from './dom.js';
import { initI18n, language, LANGUAGES, setLanguage, t } from './i18n.js';
import { mediatedList, mediatedPage } from './mediated.js';
import { officerRequests } from './officer.js';
import { overview } from './overview.js';
import { requestPage } from './request.js';
import { signIn } from './sign-in.js';

/** @typedef {import('./types.js').DashboardConfig} DashboardConfig */
/** @typedef {import('./types.js').Session} Session */
/** @typedef {import('./types.js').ViewContext} ViewContext */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
const party = /** @type {HTMLElement} */ (document.getElementById('party'));
const announcer = /** @type {HTMLElement} */ (document.getElementById('announcer'));

/** @returns {Promise<unknown>} */
const loadConfig = async () =>
  (await fetch('/dashboard/config.json', { cache: 'no-store' })).json();
const config = /** @type {DashboardConfig} */ (await loadConfig());
party.textContent = config.partyId;
await initI18n();

/**
 * The document's own words, which index.html shows in English until the catalogs are loaded; a
 * new language sets them again (the view and the header are redrawn by `route`).
 */
function drawFrame() {
  document.title = t('frame.title');
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('frame.skipLink');
  nav.setAttribute('aria-label', t('frame.navLabel'));
}
drawFrame();
// What main shows until the first view draws (only once: views replace it).
render(
  main,
  h('p', {}, t('frame.loading')),
  h(
    'noscript',
    {},
    h(
      'p',
      {},
      withNode((mark) => t('frame.noscript', { link: mark }), h('a', { href: '/docs' }, '/docs')),
    ),
  ),
);

/**
 * Who is signed in, and for supervisors whether this node relays requests between parties
 * (`relays`: asked once a session, see `askRelays`).
 * @type {{ token: string | null; session: Session; relays?: boolean } | undefined}
 */
let known;
/** @type {(() => void) | undefined} */
let stopView;

/** @param {Session} s */
const isSupervisor = (s) => s.roles.includes('supervisor') || s.roles.includes('admin');
/** @param {Session} s */
const isOfficer = (s) => s.roles.includes('officer');

/** @param {string} text */
function announce(text) {
  // Cleared first so the same words said twice are still read out.
  announcer.textContent = '';
  window.setTimeout(() => (announcer.textContent = text), 50);
}

/**
 * Goes to a dashboard path as a link would, without reloading the page.
 * @param {string} url
 * @param {{ replace?: boolean }} [opts]
 */
function navigate(url, opts = {}) {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void route({ moveFocus: true });
}

/**
 * Back to sign-in, remembering where the user was, with why (an expired token, say).
 * @param {string} [reason]
 */
function toSignIn(reason) {
  known = undefined;
  const here = location.pathname + location.search;
  const q = new URLSearchParams();
  if (!here.startsWith('/dashboard/sign-in')) q.set('next', here);
  if (reason) q.set('reason', reason);
  navigate(`/dashboard/sign-in${q.size ? `?${q.toString()}` : ''}`, { replace: true });
}

/**
 * Errors of a view: a lost session returns to sign-in; others are the view's to show.
 * @param {unknown} err
 * @returns {boolean} whether the error was a lost session
 */
function sessionLost(err) {
  if (!(err instanceof SignInNeeded)) return false;
  toSignIn(err.message);
  return true;
}

/** @param {Session | undefined} session */
function drawChrome(session) {
  const here = location.pathname;
  /** @param {string} href @param {string} text */
  const link = (href, text) =>
    h('a', { href, 'aria-current': here === href ? 'page' : null }, text);
  render(
    nav,
    session
      ? h(
          'ul',
          {},
          isSupervisor(session) ? h('li', {}, link('/dashboard', t('nav.overview'))) : null,
          isOfficer(session) ? h('li', {}, link('/dashboard/requests', t('nav.requests'))) : null,
          isSupervisor(session) && (known?.relays || here.startsWith('/dashboard/mediated'))
            ? h('li', {}, link('/dashboard/mediated', t('nav.mediated')))
            : null,
        )
      : null,
  );
  const roles = session?.roles
    .map((r) => t(`session.role.${r}`, { defaultValue: r }))
    .join(t('session.roleSeparator'));
  render(
    who,
    session
      ? [
          h(
            'span',
            { class: 'who' },
            withNode(
              (mark) => t('session.signedInAs', { name: mark, roles }),
              h('strong', {}, session.name ?? session.sub),
            ),
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                known = undefined;
                void signOut()
                  .catch(() => undefined)
                  .then(() => navigate('/dashboard/sign-in'));
              },
            },
            t('session.signOut'),
          ),
        ]
      : null,
    languagePicker(),
  );
}

/**
 * The language picker: the languages the page offers, each in its own name. A new choice redraws
 * the header and the view in place; the picker keeps the focus (its `data-focus-key`).
 */
function languagePicker() {
  const select = h(
    'select',
    {
      id: 'language',
      name: 'language',
      'data-focus-key': 'language',
      onchange: (e) => {
        const code = /** @type {HTMLSelectElement} */ (e.currentTarget).value;
        void setLanguage(code).then(
          () => {
            drawFrame();
            void route();
          },
          (err) => {
            console.error(err);
            announce(t('language.failed'));
            select.value = language();
          },
        );
      },
    },
    LANGUAGES.map((l) =>
      h('option', { value: l.code, lang: l.code, selected: l.code === language() }, l.name),
    ),
  );
  return h(
    'span',
    { class: 'language' },
    h('label', { for: 'language' }, t('language.label')),
    ' ',
    select,
  );
}

/** @returns {Promise<Session | undefined>} */
async function currentSession() {
  const bearer = token.get();
  if (known && known.token === bearer) return known.session;
  /** @type {Session} */
  let session;
  if (bearer) session = /** @type {Session} */ (await getJson('/dashboard/session.json'));
  else if (!config.signIn) return undefined;
  else {
    // The session cookie is httpOnly: the node says whether there is one, and why not.
    const answer = /** @type {{ signedIn: boolean; reason?: string } & Session} */ (
      await getJson('/auth/session')
    );
    if (!answer.signedIn) {
      if (answer.reason) throw new SignInNeeded(answer.reason);
      return undefined;
    }
    session = answer;
  }
  csrf.set(session.csrfToken);
  known = { token: bearer, session };
  return known.session;
}

/**
 * Whether this node relays requests between parties (a mediator): it does when `GET /v1/mediated`
 * lists any. Asked once a session, for supervisors and admins, without holding up the view; the
 * header gains its link when the answer comes. A node that starts relaying later shows the link
 * from the next sign-in or reload (and on the mediated pages themselves, always).
 * @param {Session} session
 */
function askRelays(session) {
  const asked = known;
  if (!asked || asked.relays !== undefined || !isSupervisor(session)) return;
  asked.relays = false;
  getJson('/v1/mediated?limit=1').then(
    (body) => {
      asked.relays = /** @type {{ items: unknown[] }} */ (body).items.length > 0;
      if (asked.relays && known === asked) drawChrome(session);
    },
    // No link then; a lost session shows in the view, which asks the node too.
    () => undefined,
  );
}

/** Draws the view of the current path. */
async function route({ moveFocus = false } = {}) {
  stopView?.();
  stopView = undefined;
  const path = location.pathname.replace(/\/+$/, '');
  if (path === '/dashboard/sign-in') {
    drawChrome(undefined);
    stopView = signIn({ config, main, navigate });
    focusHeading(moveFocus);
    return;
  }
  /** @type {Session | undefined} */
  let session;
  try {
    session = await currentSession();
  } catch (err) {
    if (err instanceof SignInNeeded) return toSignIn(err.message);
    render(
      main,
      h('p', { role: 'alert', class: 'error' }, t('errors.noAnswer', { error: String(err) })),
    );
    return;
  }
  if (!session) return toSignIn();
  drawChrome(session);
  askRelays(session);
  /** @type {ViewContext} */
  const ctx = { config, session, main, announce, navigate, sessionLost };
  const requestId = /^\/dashboard\/requests\/([^/]+)$/.exec(path)?.[1];
  const mediatedId = /^\/dashboard\/mediated\/([^/]+)$/.exec(path)?.[1];
  if (path === '/dashboard/mediated' || mediatedId) {
    if (!isSupervisor(session)) return showNotForRole();
    stopView = mediatedId ? mediatedPage(ctx, decodeURIComponent(mediatedId)) : mediatedList(ctx);
  } else if (path === '/dashboard/requests/new') {
    if (!isOfficer(session)) return showNotForRole();
    stopView = createRequestPage(ctx);
  } else if (requestId) stopView = requestPage(ctx, decodeURIComponent(requestId));
  else if (path === '/dashboard' && isSupervisor(session)) stopView = overview(ctx);
  else if (path === '/dashboard' || (path === '/dashboard/requests' && isOfficer(session))) {
    if (!isOfficer(session)) return showNotForRole();
    if (path === '/dashboard')
      return navigate(`/dashboard/requests${location.search}`, { replace: true });
    stopView = officerRequests(ctx);
  } else if (path === '/dashboard/requests') return navigate('/dashboard', { replace: true });
  else {
    render(
      main,
      h('h1', { tabindex: '-1' }, t('notFound.heading')),
      h('p', {}, h('a', { href: '/dashboard' }, t('notFound.back'))),
    );
  }
  focusHeading(moveFocus);
}

function showNotForRole() {
  render(main, h('h1', { tabindex: '-1' }, t('noRole.heading')), h('p', {}, t('noRole.text')));
}

/**
 * After a navigation, screen readers and keyboards start at the new page's heading.
 * @param {boolean} move
 */
function focusHeading(move) {
  document.title = t('frame.pageTitle', {
    heading: main.querySelector('h1')?.textContent ?? t('frame.dashboard'),
    party: config.partyId,
  });
  if (move) main.querySelector('h1')?.focus();
}

// Links within the dashboard change the view in place; others (the Temporal UI) leave as usual.
document.addEventListener('click', (e) => {
  if (!(e instanceof MouseEvent) || e.defaultPrevented || e.button !== 0) return;
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a') : null;
  if (!(a instanceof HTMLAnchorElement) || a.target || a.origin !== location.origin) return;
  if (!a.pathname.startsWith('/dashboard') || a.pathname.startsWith('/dashboard/static')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});
window.addEventListener('popstate', () => void route({ moveFocus: true }));
drawChrome(undefined);
await route();
