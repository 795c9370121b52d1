/* global location */
// Sign-in: "Sign in" goes to the node's `/auth/login`, which sends the browser through the
// organisation's identity provider (in development, the node's own) and back with a session
// cookie. As an advanced option the user pastes a bearer token from the organisation's issuer (in
// development, from `npm run token`); the node checks it before it is kept, so a wrong token is
// refused here and not on the first view.
import { ApiError, getJson, SignInNeeded, token } from './api.js';
import { h, render } from './dom.js';

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
  const button = h('button', { type: 'submit' }, 'Sign in');

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
          ? `This token is not accepted: ${err.message}.`
          : err instanceof ApiError && err.status === 403
            ? 'This token holds no role the dashboard serves (officer, supervisor or admin).'
            : `The node did not answer: ${String(err)}`;
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
      h('h1', { id: 'sign-in-title', tabindex: '-1' }, `Sign in to ${ctx.config.partyId}`),
      reason
        ? h(
            'p',
            { class: 'notice', role: 'status' },
            `Your session ended (${reason}). Sign in again.`,
          )
        : null,
      ctx.config.signIn
        ? [
            h(
              'p',
              { id: 'sign-in-help' },
              'Sign in with your organisation’s account. You will come back here once signed in.',
            ),
            h(
              'p',
              {},
              h(
                'a',
                { class: 'button', href: login, 'aria-describedby': 'sign-in-help' },
                'Sign in',
              ),
            ),
            h(
              'h2',
              { class: 'advanced', id: 'token-title' },
              'Advanced: sign in with a bearer token',
            ),
          ]
        : null,
      h(
        'form',
        {
          onsubmit: (e) => void submit(/** @type {SubmitEvent} */ (e)),
        },
        h('label', { for: 'token' }, 'Bearer token'),
        field,
        h(
          'p',
          { id: 'token-help', class: 'help' },
          'Paste the token your organisation issued you. It is kept in this browser tab only ' +
            'and forgotten when the tab closes. For development: ',
          h('code', {}, 'npm run -s token -- --role supervisor --sub sofia'),
          '.',
        ),
        error,
        button,
      ),
    ),
  );
  return () => {};
}
