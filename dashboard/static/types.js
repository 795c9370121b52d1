// The shapes the page reads, taken from the API's own zod schemas (types only: nothing of the
// server is loaded in the browser), so a change of the API shows up when the dashboard is checked.

/** @typedef {import('../../schemas/supervisor-api.js').SupervisorSummary} Summary */
/** @typedef {import('../../schemas/supervisor-api.js').SupervisorRequestItem} SupervisorItem */
/** @typedef {import('../../schemas/supervisor-api.js').SupervisorRequestPage} SupervisorPage */
/** @typedef {import('../../schemas/supervisor-api.js').SupervisorTimeline} SupervisorTimeline */
/** @typedef {import('../../schemas/requests-api.js').RequestView} RequestView */
/** @typedef {import('../../schemas/officer-list.js').RequestListItem} RequestListItem */
/** @typedef {import('../../schemas/requests-api.js').RequestDetailView} RequestDetail */
/** @typedef {import('../../schemas/requests-api.js').TimelineEvent} TimelineEvent */
/** @typedef {import('../../workflows/deadlines.js').DeadlineExplanation} DeadlineExplanation */
/** @typedef {import('../../schemas/mediator-api.js').MediatedRequestView} MediatedRequestView */
/** @typedef {import('../../schemas/mediator-api.js').PauseConsentView} PauseConsentView */
/** @typedef {{ partyId: string; temporalUiUrl: string | null; namespace: string; signIn?: boolean; mapTileUrl?: string | null }} DashboardConfig */

/** @typedef {{ id: number; at: string; kind: string; partyId: string | null; detail: unknown }} SecurityAlert */
/**
 * Who is signed in; `name` and `csrfToken` when signed in through the identity provider (cookie).
 * @typedef {{ sub: string; roles: string[]; name?: string | null; csrfToken?: string }} Session
 */
/** @typedef {import('../../api/dashboard.js').DashboardNotification} DashboardNotification */

/**
 * What every view gets: the node's config, who is signed in, and where to show it.
 * @typedef {object} ViewContext
 * @property {DashboardConfig} config
 * @property {Session} session
 * @property {HTMLElement} main
 * @property {(text: string) => void} announce says a change out loud (an aria-live region)
 * @property {(url: string, opts?: { replace?: boolean }) => void} navigate
 * @property {(err: unknown) => boolean} sessionLost back to sign-in if `err` is a lost session
 */

/** A view draws itself into `main` and returns how to stop its polling. */
/** @typedef {(ctx: ViewContext) => (() => void)} View */

export {};
