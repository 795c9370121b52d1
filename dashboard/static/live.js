/* global document, setTimeout, clearTimeout */
// Live updates by polling: the read model is the source of truth and a GET every few seconds is
// the simplest way to follow it; an event stream would need a server part to fan changes out.
import { SignInNeeded } from './api.js';
import { h, render } from './dom.js';

/** How often views fetch again: a state change shows within this time without a reload. */
export const POLL_MS = 2500;

/**
 * Runs `tick` now and again `everyMs` after each run ends (never two at once), while the tab is
 * visible; a hidden tab stops asking and catches up as soon as it shows again. A failed run is
 * reported to `onError` and retried on the next tick, except a lost session, which ends polling.
 * @param {() => Promise<void>} tick
 * @param {{ everyMs?: number; onError: (err: unknown) => void }} opts
 * @returns {() => void} stops polling
 */
export function poll(tick, opts) {
  const everyMs = opts.everyMs ?? POLL_MS;
  let stopped = false;
  let running = false;
  /** Whether a tick was skipped because the tab was hidden. */
  let paused = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const run = async () => {
    timer = undefined;
    if (stopped || running) return;
    if (document.hidden) {
      paused = true;
      return;
    }
    running = true;
    try {
      await tick();
    } catch (err) {
      opts.onError(err);
      if (err instanceof SignInNeeded) stopped = true;
    } finally {
      running = false;
      if (!stopped) timer = setTimeout(() => void run(), everyMs);
    }
  };
  const onVisible = () => {
    if (document.hidden || stopped || (!paused && timer === undefined)) return;
    paused = false;
    if (timer !== undefined) clearTimeout(timer);
    void run();
  };
  document.addEventListener('visibilitychange', onVisible);
  void run();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/**
 * `poll` for a view with a problem slot: a failed run shows as an alert in `slot`, in the words
 * `text` gives for the error, unless the session was lost (then the view goes back to sign-in).
 * The tick empties the slot once a run succeeds.
 * @param {import('./types.js').ViewContext} ctx
 * @param {() => Promise<void>} tick
 * @param {HTMLElement} slot
 * @param {(err: unknown) => string} text
 * @returns {() => void} stops polling
 */
export function pollWithAlert(ctx, tick, slot, text) {
  return poll(tick, {
    onError: (err) => {
      if (!ctx.sessionLost(err)) render(slot, h('p', { class: 'error', role: 'alert' }, text(err)));
    },
  });
}
