/* global location */
// Sign-in: "Sign in" goes to the node's `/auth/login`, which sends the browser through the
// organisation's identity provider (in development, the node's own) and back with a session
// cookie. As an advanced option the user pastes a bearer token from the organisation's issuer (in
// development, from `npm run token`); the node checks it before it is kept, so a wrong token is
// refused here and not on the first view.
import { ApiError, getJson, SignInNeeded, token } from './api.js';
import { h, render, withNode } from './dom.js';
import { t } from './i18n.js';

/**
 * Where to go after signing in: a dashboard path only, so a crafted link cannot send the user
 * (and nothing else) to another site.
 * @param {string | null} next
 */
function safeNext(next) {
  return next && /^\/dashboard(\/|\?|$)/.test(next) && !next.startsWith('/dashboard/sign-in')
    ? next
    : '/dashboard';
}

/**
 * @param {{ config: import('./types.js').DashboardConfig; main: HTMLElement;
 *   navigate: (url: string) => void }} ctx
 */
export function signIn(ctx) {
  const params = new URLSearchParams(location.search);
  const reason = params.get('reason');
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' });
  const field = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-help sign-in-error',
  });
  const button = h('button', { type: 'submit' }, t('signIn.button'));

  /** @param {SubmitEvent} e */
  const submit = async (e) => {
    e.preventDefault();
    const bearer = field.value.trim().replace(/^Bearer\s+/i, '');
    error.textContent = '';
    button.disabled = true;
    try {
      await getJson('/dashboard/session.json', { bearer });
      token.set(bearer);
      ctx.navigate(safeNext(params.get('next')));
    } catch (err) {
      error.textContent =
        err instanceof SignInNeeded
          ? t('signIn.token.notAccepted', { reason: err.message })
          : err instanceof ApiError && err.status === 403
            ? t('signIn.token.noRole')
            : t('errors.noAnswer', { error: String(err) });
      field.focus();
    } finally {
      button.disabled = false;
    }
  };

  const login = `/auth/login?${new URLSearchParams({ next: safeNext(params.get('next')) })}`;
  render(
    ctx.main,
    h(
      'section',
      { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
      h(
        'h1',
        { id: 'sign-in-title', tabindex: '-1' },
        t('signIn.heading', { party: ctx.config.partyId }),
      ),
      reason
        ? h('p', { class: 'notice', role: 'status' }, t('signIn.sessionEnded', { reason }))
        : null,
      ctx.config.signIn
        ? [
            h('p', { id: 'sign-in-help' }, t('signIn.help')),
            h(
              'p',
              {},
              h(
                'a',
                { class: 'button', href: login, 'aria-describedby': 'sign-in-help' },
                t('signIn.button'),
              ),
            ),
            h('h2', { class: 'advanced', id: 'token-title' }, t('signIn.advanced')),
          ]
        : null,
      h(
        'form',
        {
          onsubmit: (e) => void submit(/** @type {SubmitEvent} */ (e)),
        },
        h('label', { for: 'token' }, t('signIn.token.label')),
        field,
        h(
          'p',
          { id: 'token-help', class: 'help' },
          withNode(
            (mark) => t('signIn.token.help', { command: mark }),
            h('code', {}, 'npm run -s token -- --role supervisor --sub sofia'),
          ),
        ),
        error,
        button,
      ),
    ),
  );
  return () => {};
}
