/* global document, window, location, history, fetch, Element, HTMLAnchorElement, MouseEvent */
// The dashboard's entry: which view a path shows, for whom. Roles come from the node
// (`/dashboard/session.json` verifies the token), not from reading the token in the browser; the
// API checks them again on every call, so a view the role may not see would only get 403s.
import { csrf, getJson, signOut, SignInNeeded, token } from './api.js';
import { createRequestPage } from './create-request.js';
import { h, render } from './dom.js';
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

/** @type {{ token: string | null; session: Session } | undefined} */
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
          isSupervisor(session) ? h('li', {}, link('/dashboard', 'Overview')) : null,
          isOfficer(session) ? h('li', {}, link('/dashboard/requests', 'Requests')) : null,
        )
      : null,
  );
  render(
    who,
    session
      ? [
          h(
            'span',
            { class: 'who' },
            'Signed in as ',
            h('strong', {}, session.name ?? session.sub),
            ` (${session.roles.join(', ')})`,
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
            'Sign out',
          ),
        ]
      : null,
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
      h('p', { role: 'alert', class: 'error' }, `The node did not answer: ${String(err)}`),
    );
    return;
  }
  if (!session) return toSignIn();
  drawChrome(session);
  /** @type {ViewContext} */
  const ctx = { config, session, main, announce, navigate, sessionLost };
  const requestId = /^\/dashboard\/requests\/([^/]+)$/.exec(path)?.[1];
  if (path === '/dashboard/requests/new') {
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
      h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, h('a', { href: '/dashboard' }, 'Back to the dashboard')),
    );
  }
  focusHeading(moveFocus);
}

function showNotForRole() {
  render(
    main,
    h('h1', { tabindex: '-1' }, 'Nothing to show for your role'),
    h(
      'p',
      {},
      'The dashboard has views for officers and supervisors; this token holds neither role.',
    ),
  );
}

/**
 * After a navigation, screen readers and keyboards start at the new page's heading.
 * @param {boolean} move
 */
function focusHeading(move) {
  document.title = `${main.querySelector('h1')?.textContent ?? 'Dashboard'} · Parley ${config.partyId}`;
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
await route();
