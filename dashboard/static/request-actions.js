/* global crypto, FormData, HTMLElement, HTMLButtonElement, KeyboardEvent */
// Working a request: a button for each action this node's officers may take now (the request
// detail's `allowedActions`, computed by the node from the action table, so the page holds no rule
// of its own), each opening a small form for the action's body; the node's refusal is shown in
// words at the field it names (the problem document's `errors[].path`). Each submission carries an
// Idempotency-Key, the same for the same body, so a double click or a retry acts once. Responses
// with records have a form generated from the node's JSON Schemas of the request type's response
// body (record-form.js; files through attachments.js), beside the one-click "not found / withheld
// for every item". Also the coverage matrix per item, and the clarification items of the records
// exchanged, each with a button that prefills a question about it.
import { ApiError, callApi, getJson } from './api.js';
import { attachmentsControl, isAttachmentList } from './attachments.js';
import { h, render, table } from './dom.js';
import { formatNumber, t } from './i18n.js';
import { checkboxesControl, InputProblem, resolve, schemaForm, segmentsOf } from './record-form.js';

/** @typedef {import('./types.js').RequestDetail} RequestDetail */
/** @typedef {RequestDetail['allowedActions'][number]['action']} Action */

/**
 * One field of an action's form: `key` is its member in the body (and what an error's path names);
 * `label`, `hint` and each option's text are catalog keys, translated where the form is drawn.
 * @typedef {{
 *   key: string;
 *   label: string;
 *   type: 'textarea' | 'datetime' | 'radio';
 *   required?: boolean;
 *   hint?: string;
 *   options?: [string, string][];
 * }} Field
 */

/**
 * An action's form: its button, its route, its fields, and the body its values make. `button`,
 * `title` and `done` (what the page says once it is sent) are catalog keys, translated at use.
 * @typedef {{
 *   button: string;
 *   title: string;
 *   path: string;
 *   fields: Field[];
 *   body: (v: Record<string, string>, d: RequestDetail) => Record<string, unknown>;
 *   done: string;
 *   danger?: boolean;
 * }} FormSpec
 */

/** A datetime-local value (the reader's time zone) as an RFC 3339 UTC instant. */
const instant = (/** @type {string} */ v) => {
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? v : new Date(ms).toISOString().replace('.000Z', 'Z');
};
/** Lines of a textarea that say something, one list entry each. */
const lines = (/** @type {string} */ v) => v.split('\n').filter((l) => l.trim() !== '');
/** The member only when the optional field was filled in. */
const optional = (
  /** @type {string} */ key,
  /** @type {string | undefined} */ v,
  f = (/** @type {string} */ x) => /** @type {unknown} */ (x),
) => (v !== undefined && v.trim() !== '' ? { [key]: f(v) } : {});

/** The forms, by the name the page gives them (the two closures share one form and route). */
/** @type {Record<string, FormSpec>} */
export const FORMS = {
  acknowledge: {
    button: 'actions:forms.acknowledge.button',
    title: 'actions:forms.acknowledge.title',
    path: 'acknowledge',
    fields: [
      { key: 'note', label: 'actions:fields.note', type: 'textarea' },
      { key: 'expected_by', label: 'actions:forms.acknowledge.expectedBy', type: 'datetime' },
    ],
    body: (v) => ({
      ...optional('note', v.note),
      ...optional('expected_by', v.expected_by, instant),
    }),
    done: 'actions:forms.acknowledge.done',
  },
  ask_clarification: {
    button: 'actions:forms.ask_clarification.button',
    title: 'actions:forms.ask_clarification.title',
    path: 'clarification-requests',
    fields: [
      {
        key: 'questions',
        label: 'actions:forms.ask_clarification.questions',
        type: 'textarea',
        required: true,
        hint: 'actions:forms.ask_clarification.questionsHint',
      },
    ],
    body: (v) => ({ questions: lines(v.questions ?? '') }),
    done: 'actions:forms.ask_clarification.done',
  },
  answer_clarification: {
    button: 'actions:forms.answer_clarification.button',
    title: 'actions:forms.answer_clarification.title',
    path: 'clarifications',
    fields: [
      {
        key: 'answers',
        label: 'actions:forms.answer_clarification.answers',
        type: 'textarea',
        required: true,
        hint: 'actions:forms.answer_clarification.answersHint',
      },
    ],
    body: (v) => ({ answers: lines(v.answers ?? '') }),
    done: 'actions:forms.answer_clarification.done',
  },
  request_extension: {
    button: 'actions:forms.request_extension.button',
    title: 'actions:forms.request_extension.title',
    path: 'extension-requests',
    fields: [
      { key: 'reason', label: 'actions:fields.reason', type: 'textarea', required: true },
      {
        key: 'proposed_deadline',
        label: 'actions:forms.request_extension.proposedDeadline',
        type: 'datetime',
        required: true,
      },
    ],
    body: (v) => ({ reason: v.reason, proposed_deadline: instant(v.proposed_deadline ?? '') }),
    done: 'actions:forms.request_extension.done',
  },
  decide_extension: {
    button: 'actions:forms.decide_extension.button',
    title: 'actions:forms.decide_extension.title',
    path: 'extension-decision',
    fields: [
      {
        key: 'granted',
        label: 'actions:forms.decide_extension.decision',
        type: 'radio',
        required: true,
        options: [
          ['true', 'actions:forms.decide_extension.grant'],
          ['false', 'actions:forms.decide_extension.refuse'],
        ],
      },
      {
        key: 'new_deadline',
        label: 'actions:forms.decide_extension.newDeadline',
        type: 'datetime',
      },
      { key: 'reason', label: 'actions:fields.reasonOptional', type: 'textarea' },
    ],
    body: (v) => ({
      granted: v.granted === 'true',
      ...optional('new_deadline', v.new_deadline, instant),
      ...optional('reason', v.reason),
    }),
    done: 'actions:forms.decide_extension.done',
  },
  respond_final: {
    button: 'actions:forms.respond_final.button',
    title: 'actions:forms.respond_final.title',
    path: 'responses',
    fields: [
      {
        key: 'outcome',
        label: 'actions:forms.respond_final.outcome',
        type: 'radio',
        required: true,
        options: [
          ['not_found', 'actions:forms.respond_final.notFound'],
          ['withheld', 'actions:forms.respond_final.withheld'],
        ],
      },
      {
        key: 'reason',
        label: 'actions:forms.respond_final.reason',
        type: 'textarea',
      },
      { key: 'note', label: 'actions:fields.note', type: 'textarea' },
    ],
    body: (v, d) => ({
      final: true,
      records: [],
      outcomes: d.coverage.map((c) => ({
        item_id: c.item_id,
        outcome: v.outcome,
        ...optional('reason', v.reason),
      })),
      ...optional('note', v.note),
    }),
    done: 'actions:forms.respond_final.done',
  },
  decline: {
    button: 'actions:forms.decline.button',
    title: 'actions:forms.decline.title',
    path: 'decline',
    fields: [{ key: 'reason', label: 'actions:fields.reason', type: 'textarea', required: true }],
    body: (v) => ({ reason: v.reason }),
    done: 'actions:forms.decline.done',
    danger: true,
  },
  withdraw: {
    button: 'actions:forms.withdraw.button',
    title: 'actions:forms.withdraw.title',
    path: 'withdraw',
    fields: [{ key: 'reason', label: 'actions:fields.reasonOptional', type: 'textarea' }],
    body: (v) => optional('reason', v.reason),
    done: 'actions:forms.withdraw.done',
    danger: true,
  },
  close: {
    button: 'actions:forms.close.button',
    title: 'actions:forms.close.title',
    path: 'close',
    fields: [
      {
        key: 'outcome',
        label: 'actions:forms.close.outcome',
        type: 'radio',
        required: true,
        options: [
          ['accepted', 'actions:forms.close.accepted'],
          ['incomplete', 'actions:forms.close.incomplete'],
        ],
      },
      { key: 'reason', label: 'actions:fields.reasonOptional', type: 'textarea' },
    ],
    body: (v) => ({ outcome: v.outcome, ...optional('reason', v.reason) }),
    done: 'actions:forms.close.done',
  },
};

/** The response with records: a form of its own, generated from the node's schemas. */
const RECORDS_FORM = 'respond_records';

/** The button of a form, in words. */
const buttonText = (/** @type {string} */ name) => {
  if (name === RECORDS_FORM) return t('actions:records.button');
  const key = FORMS[name]?.button;
  return key ? t(key) : name;
};

/**
 * Where the request stands, in the words of "the request is …" (lower case; a status the catalog
 * does not know is shown as it is, underscores as spaces).
 * @param {string} status
 */
const stateWords = (status) =>
  t(`actions:state.${status}`, { defaultValue: status.replaceAll('_', ' ') });

/**
 * The kind of a request's item, in words (a kind the catalog does not know is shown as it is).
 * @param {string} kind
 */
const kindWords = (kind) => t(`actions:itemKind.${kind}`, { defaultValue: kind });

/**
 * The forms offered for the allowed actions, in the action table's order: the two closures are
 * one form; a partial or final response may carry records (one form for both), and a final one
 * can also say "not found" or "withheld" for every item at once.
 * @param {Action[]} allowed
 */
export function formsFor(allowed) {
  /** @type {string[]} */
  const names = [];
  const push = (/** @type {string} */ name) => {
    if ((FORMS[name] || name === RECORDS_FORM) && !names.includes(name)) names.push(name);
  };
  for (const action of allowed) {
    if (action === 'respond_partial' || action === 'respond_final') push(RECORDS_FORM);
    push(action === 'close_accepted' || action === 'close_incomplete' ? 'close' : action);
  }
  return names;
}

/** The component of the node's OpenAPI document that is the response body of each type. */
const RESPONSE_SCHEMA = {
  mine_map: 'MineMapResponse',
  grave_information: 'GraveResponse',
  identification_result: 'IdentificationResponse',
};

/** @typedef {import('./record-form.js').Schema} Schema */
/** @typedef {import('./record-form.js').Control} Control */
/** @typedef {import('./record-form.js').Part} Part */

/** @type {Promise<Record<string, Schema>> | undefined} */
let schemas;
/**
 * The JSON Schemas of the node (its OpenAPI document's components, made from the zod schemas it
 * validates with), fetched once per page load.
 */
function nodeSchemas() {
  schemas ??= /** @type {Promise<{ components: { schemas: Record<string, Schema> } }>} */ (
    getJson('/openapi.json')
  ).then((doc) => doc.components.schemas);
  schemas.catch(() => {
    schemas = undefined;
  });
  return schemas;
}

/** The request's items as the response forms name them: id, and label or kind. */
const itemsOf = (/** @type {RequestDetail} */ d) =>
  (d.subject?.items ?? []).map((i) => {
    const named = /** @type {{ item_id: string; kind: string; label?: string }} */ (i);
    return {
      id: named.item_id,
      text: `${named.item_id} (${named.label ?? kindWords(named.kind)})`,
    };
  });

/**
 * Partial or final: the choices the action table allows now.
 * @param {Part} part
 * @param {{ partial: boolean; final: boolean }} allowed
 * @returns {Control}
 */
function finalControl(part, allowed) {
  const id = part.form.next();
  const choices = /** @type {const} */ ([
    ['partial', t('actions:records.final.partial'), allowed.partial],
    ['final', t('actions:records.final.final'), allowed.final],
  ]).filter(([, , ok]) => ok);
  const radios = choices.map(([value], i) =>
    h('input', {
      type: 'radio',
      name: 'final',
      value,
      id: `${id}-${i}`,
      checked: i === choices.length - 1,
    }),
  );
  const error = h('p', { class: 'field-error' });
  return {
    el: h(
      'fieldset',
      { class: 'field choices', 'data-path': part.pattern },
      h('legend', {}, t('actions:records.final.legend')),
      radios.map((r, i) =>
        h('label', { class: 'choice', for: r.id }, r, ` ${choices[i]?.[1] ?? ''}`),
      ),
      error,
    ),
    value: () => radios.find((r) => r.checked)?.value === 'final',
    showError: (_s, message) => {
      error.append(h('span', {}, message), ' ');
      return radios[0];
    },
    clearErrors: () => render(error),
  };
}

/**
 * The outcome per item of the request (found, not found, withheld with its reason), the choices
 * from the schema of an outcome.
 * @param {Part} part
 * @param {{ id: string; text: string }[]} items
 * @returns {Control}
 */
function outcomesControl(part, items) {
  const { components } = part.form;
  const entry = resolve(/** @type {Schema} */ (part.schema.items ?? {}), components);
  const props = /** @type {Record<string, Schema>} */ (entry.properties ?? {});
  const outcome = resolve(props.outcome ?? {}, components);
  const values = Array.isArray(outcome.enum) ? outcome.enum.map(String) : [];
  const base = part.form.next();
  const rows = items.map((item, i) => {
    const id = `${base}-${i}`;
    const select = h(
      'select',
      { id: `${id}-outcome`, 'aria-describedby': `${id}-error` },
      h('option', { value: '' }, t('actions:records.outcomes.notStated')),
      values.map((v) =>
        h(
          'option',
          { value: v },
          t(`actions:records.outcome.${v}`, { defaultValue: v.replaceAll('_', ' ') }),
        ),
      ),
    );
    const reason = h('input', {
      type: 'text',
      id: `${id}-reason`,
      'aria-label': t('actions:records.outcomes.reasonFor', { item: item.id }),
      'aria-describedby': `${id}-error`,
    });
    const error = h('p', { class: 'field-error', id: `${id}-error` });
    const tr = h(
      'tr',
      { 'data-item': item.id },
      h('th', { scope: 'row' }, h('label', { for: select.id }, item.text)),
      h('td', {}, select),
      h('td', {}, reason, error),
    );
    return { item, select, reason, error, tr };
  });
  /** @type {typeof rows} */
  let sent = [];
  const own = h('p', { class: 'field-error' });
  const legend = h('legend', { tabindex: '-1' }, t('actions:records.outcomes.legend'));
  return {
    el: h(
      'fieldset',
      { class: 'field outcomes', 'data-path': part.pattern },
      legend,
      h('p', { class: 'hint' }, t('actions:records.outcomes.hint')),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t('actions:records.outcomes.item')),
            h('th', { scope: 'col' }, t('actions:records.outcomes.outcome')),
            h('th', { scope: 'col' }, t('actions:records.outcomes.reason')),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((r) => r.tr),
        ),
      ),
      own,
    ),
    value: () => {
      sent = rows.filter((r) => r.select.value !== '');
      if (!sent.length) return undefined;
      return sent.map((r) => {
        const why = r.reason.value.trim();
        return { item_id: r.item.id, outcome: r.select.value, ...(why ? { reason: why } : {}) };
      });
    },
    showError: (segments, message) => {
      const [first, field] = segments;
      const row = first !== undefined && /^\d+$/.test(first) ? sent[Number(first)] : undefined;
      if (!row) {
        own.append(h('span', {}, message), ' ');
        return legend;
      }
      row.error.append(h('span', {}, message), ' ');
      const control = field === 'reason' ? row.reason : row.select;
      control.setAttribute('aria-invalid', 'true');
      return control;
    },
    clearErrors: () => {
      render(own);
      for (const r of rows) {
        render(r.error);
        r.select.removeAttribute('aria-invalid');
        r.reason.removeAttribute('aria-invalid');
      }
    },
  };
}

/** A fresh Idempotency-Key (crypto.getRandomValues works on plain http too). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The field an error's path names: the deepest member of the path that is a field's key
 * (`/outcomes/0/reason` → reason, `/questions/2` → questions, `/outcomes` → outcome).
 * @param {string} path
 * @param {Field[]} fields
 */
function fieldOf(path, fields) {
  const segments = path.split('/').filter(Boolean).reverse();
  for (const s of segments) {
    const f = fields.find((x) => x.key === s || `${x.key}s` === s);
    if (f) return f;
  }
  return undefined;
}

/**
 * The actions panel of a request page, for officers.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 * @param {{ refresh: () => void }} page asks the page to fetch the request again
 */
export function actionsPanel(ctx, id, page) {
  const toolbar = h('div', {
    class: 'action-buttons',
    role: 'group',
    'aria-label': t('actions:panel.toolbar'),
  });
  const formSlot = h('div', { class: 'action-form-slot' });
  const outcome = h('p', { class: 'action-outcome', role: 'status', tabindex: '-1' });
  const coverageBox = h('div');
  const itemsBox = h('div');
  const panel = h(
    'section',
    { class: 'panel actions-panel', 'aria-labelledby': 'actions-title', id: 'actions' },
    h('h2', { id: 'actions-title' }, t('actions:panel.heading')),
    toolbar,
    outcome,
    formSlot,
  );
  const coverage = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'coverage-title', id: 'coverage' },
    h('h2', { id: 'coverage-title' }, t('actions:coverage.heading')),
    coverageBox,
  );
  const clarification = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'clarification-items-title', id: 'clarification-items' },
    h('h2', { id: 'clarification-items-title' }, t('actions:clarificationItems.heading')),
    itemsBox,
  );

  /** @type {RequestDetail | undefined} */
  let detail;
  let drawnForms = '';
  let drawnCoverage = '';
  let drawnItems = '';
  /** The open form: its name, and what to do when it is no longer allowed. */
  /** @type {{ name: string } | undefined} */
  let open;

  /** @param {string} name */
  const buttonOf = (name) =>
    /** @type {HTMLButtonElement | null} */ (toolbar.querySelector(`[data-action="${name}"]`));

  function closeForm({ focus = false } = {}) {
    const name = open?.name;
    open = undefined;
    render(formSlot);
    for (const b of toolbar.querySelectorAll('button')) b.setAttribute('aria-expanded', 'false');
    if (focus && name) buttonOf(name)?.focus();
  }

  /**
   * Opens the form of `name`, with values to start from.
   * @param {string} name
   * @param {Record<string, string>} [prefill]
   */
  function openForm(name, prefill = {}) {
    const spec = FORMS[name];
    if ((!spec && name !== RECORDS_FORM) || !detail) return;
    open = { name };
    for (const b of toolbar.querySelectorAll('button'))
      b.setAttribute('aria-expanded', b.dataset.action === name ? 'true' : 'false');
    render(outcome);
    render(formSlot, spec ? actionForm(name, spec, prefill) : recordsForm(detail));
    const first = formSlot.querySelector('textarea, input, select');
    if (first instanceof HTMLElement) first.focus();
  }

  /**
   * The node's refusal in words under a form, and the details no field takes as a list.
   * @param {HTMLElement} formError
   * @param {unknown} err
   * @param {{ path: string; message: string }[]} unplaced
   */
  const sayRefusal = (formError, err, unplaced) => {
    const problem = err instanceof ApiError ? err : undefined;
    render(
      formError,
      h(
        'p',
        { class: 'error' },
        problem
          ? t('actions:refusal.refused', {
              code: problem.code ?? problem.status,
              message: problem.message,
            })
          : t('actions:refusal.notSent', {
              reason: err instanceof Error ? err.message : String(err),
            }),
      ),
      unplaced.length
        ? h(
            'ul',
            { class: 'error' },
            unplaced.map((d) => h('li', {}, d.path ? `${d.path}: ${d.message}` : d.message)),
          )
        : null,
    );
  };

  /**
   * A response with records: partial or final, records of the request's type in a form generated
   * from the node's JSON Schema of its response body (covers as the request's items, files
   * uploaded with their digest), the outcome per item and a note. A refusal is shown at the field
   * its path names (`/records/0/source_document/reference`), or at the nearest one above it.
   * @param {RequestDetail} d
   */
  function recordsForm(d) {
    const title = t('actions:records.title');
    const body = h(
      'div',
      { class: 'records-form-body' },
      h('p', { class: 'help' }, t('actions:records.loading')),
    );
    const formError = h('div', { class: 'form-problem', role: 'alert' });
    const submit = h('button', { type: 'submit', disabled: true }, t('actions:records.submit'));
    /** @type {Control | undefined} */
    let control;
    /** @type {{ body: string; key: string } | undefined} */
    let sent;
    let busy = false;
    const allowed = new Set(d.allowedActions.map((a) => a.action));
    const items = itemsOf(d);

    nodeSchemas()
      .then((components) => {
        const schema = components[RESPONSE_SCHEMA[d.type]];
        if (!schema)
          throw new Error(t('actions:records.noSchema', { schema: RESPONSE_SCHEMA[d.type] }));
        control = schemaForm({
          schema,
          components,
          idPrefix: 'respond',
          widgets: {
            '/final': (part) =>
              finalControl(part, {
                partial: allowed.has('respond_partial'),
                final: allowed.has('respond_final'),
              }),
            '/records/*/covers': (part) =>
              checkboxesControl(
                part,
                items.map((i) => i.id),
                (v) => items.find((i) => i.id === v)?.text ?? v,
              ),
            '/outcomes': (part) => outcomesControl(part, items),
          },
          // Files, wherever a schema refers to one: a list of them, or a single one.
          arrayWidgets: [
            (part, entry) =>
              isAttachmentList(entry) ? attachmentsControl(part, entry) : undefined,
          ],
          objectWidgets: [
            (part) =>
              isAttachmentList(part.schema)
                ? attachmentsControl(part, part.schema, true)
                : undefined,
          ],
        });
        render(body, h('p', { class: 'help' }, t('actions:records.help')), control.el);
        submit.disabled = false;
        // The form came after the click: its first field takes the focus, as other forms' do.
        const first = control.el?.querySelector('input, select, textarea');
        if (first instanceof HTMLElement && formSlot.contains(first)) first.focus();
      })
      .catch((/** @type {unknown} */ err) => {
        if (!ctx.sessionLost(err))
          render(
            body,
            h('p', { class: 'error' }, t('actions:records.loadFailed', { error: String(err) })),
          );
      });

    const send = async () => {
      if (busy || !control) return;
      render(formError);
      control.clearErrors();
      /** @type {unknown} */
      let value;
      try {
        value = control.value();
      } catch (err) {
        if (!(err instanceof InputProblem)) throw err;
        render(
          formError,
          h('p', { class: 'error' }, t('actions:refusal.notSentInput', { reason: err.message })),
        );
        (err.control ?? submit).focus();
        return;
      }
      const bodyKey = JSON.stringify(value);
      if (!sent || sent.body !== bodyKey) sent = { body: bodyKey, key: newKey() };
      busy = true;
      submit.disabled = true;
      try {
        const answer = /** @type {{ status: string; clarification_items?: unknown[] }} */ (
          await callApi('POST', `/v1/requests/${encodeURIComponent(id)}/responses`, {
            json: value,
            headers: { 'idempotency-key': sent.key },
          })
        );
        const final = /** @type {{ final?: boolean }} */ (value).final === true;
        const gaps = answer.clarification_items?.length ?? 0;
        const said =
          t('actions:sent', {
            what: t(final ? 'actions:records.sentFinal' : 'actions:records.sentPartial'),
            state: stateWords(answer.status),
          }) +
          (gaps ? ` ${t('actions:records.gaps', { count: gaps, n: formatNumber(gaps) })}` : '');
        closeForm();
        render(outcome, said);
        page.refresh();
        outcome.focus();
        busy = false;
      } catch (err) {
        busy = false;
        submit.disabled = false;
        if (ctx.sessionLost(err)) return;
        /** @type {{ path: string; message: string }[]} */
        const unplaced = [];
        /** @type {HTMLElement | undefined} */
        let first;
        for (const e of err instanceof ApiError ? err.errors : []) {
          const at = e.path ? control.showError(segmentsOf(e.path), e.message) : undefined;
          if (at) first ??= at;
          else unplaced.push(e);
        }
        sayRefusal(formError, err, unplaced);
        (first ?? submit).focus();
      }
    };

    return h(
      'form',
      {
        class: 'action-form records-form',
        'data-form': RECORDS_FORM,
        novalidate: true,
        'aria-labelledby': `action-${RECORDS_FORM}-title`,
        onsubmit: (e) => {
          e.preventDefault();
          void send();
        },
        // Escape closes this long form from its buttons only: in a field it may just close a
        // select's list, and the records typed would be lost.
        onkeydown: (e) => {
          if (
            e instanceof KeyboardEvent &&
            e.key === 'Escape' &&
            !(e.target instanceof HTMLElement && e.target.matches('input, select, textarea'))
          )
            closeForm({ focus: true });
        },
      },
      h('h3', { id: `action-${RECORDS_FORM}-title` }, title),
      body,
      formError,
      h(
        'div',
        { class: 'actions' },
        submit,
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => closeForm({ focus: true }) },
          t('actions:forms.cancel'),
        ),
      ),
    );
  }

  /**
   * @param {string} name
   * @param {FormSpec} spec
   * @param {Record<string, string>} prefill
   */
  function actionForm(name, spec, prefill) {
    const formError = h('div', { class: 'form-problem', role: 'alert' });
    /** @type {Map<string, { error: HTMLElement; controls: HTMLElement[] }>} */
    const slots = new Map();
    const fieldEls = spec.fields.map((f) => {
      const fid = `action-${name}-${f.key}`;
      const errorId = `${fid}-error`;
      const hintId = f.hint ? `${fid}-hint` : null;
      const error = h('p', { class: 'field-error', id: errorId });
      const described = [hintId, errorId].filter(Boolean).join(' ');
      /** @type {HTMLElement[]} */
      let controls;
      /** @type {HTMLElement} */
      let el;
      if (f.type === 'radio') {
        controls = (f.options ?? []).map(([value, text], i) =>
          h(
            'label',
            { class: 'choice' },
            h('input', {
              type: 'radio',
              name: f.key,
              value,
              id: `${fid}-${i}`,
              required: f.required ? true : null,
              checked: prefill[f.key] === value,
              'aria-describedby': described,
            }),
            ` ${t(text)}`,
          ),
        );
        el = h(
          'fieldset',
          { class: 'field choices', 'data-field': f.key },
          h('legend', {}, t(f.label)),
          controls,
          error,
        );
        controls = controls.map((c) => /** @type {HTMLElement} */ (c.querySelector('input')));
      } else {
        const control =
          f.type === 'textarea'
            ? h('textarea', {
                id: fid,
                name: f.key,
                rows: 3,
                required: f.required ? true : null,
                'aria-describedby': described,
              })
            : h('input', {
                id: fid,
                name: f.key,
                type: 'datetime-local',
                required: f.required ? true : null,
                'aria-describedby': described,
              });
        const start = prefill[f.key];
        if (start) control.value = start;
        controls = [control];
        el = h(
          'div',
          { class: 'field', 'data-field': f.key },
          h('label', { for: fid }, t(f.label)),
          hintId && f.hint ? h('p', { class: 'hint', id: hintId }, t(f.hint)) : null,
          control,
          error,
        );
      }
      slots.set(f.key, { error, controls });
      return el;
    });

    const submit = h('button', { type: 'submit' }, t(spec.button));
    /** The key of the last body sent: the same body again is the same action. */
    /** @type {{ body: string; key: string } | undefined} */
    let sent;
    let busy = false;

    const clearErrors = () => {
      render(formError);
      for (const { error, controls } of slots.values()) {
        render(error);
        for (const c of controls) c.removeAttribute('aria-invalid');
      }
    };

    /**
     * The node's refusal in words, each error at the field its path names.
     * @param {unknown} err
     */
    const showRefusal = (err) => {
      const problem = err instanceof ApiError ? err : undefined;
      /** @type {{ path: string; message: string }[]} */
      const details = problem?.errors ?? [];
      /** @type {HTMLElement | undefined} */
      let firstInvalid;
      /** @type {{ path: string; message: string }[]} */
      const unplaced = [];
      for (const d of details) {
        const f = fieldOf(d.path, spec.fields);
        const slot = f && slots.get(f.key);
        if (!slot) {
          unplaced.push(d);
          continue;
        }
        slot.error.append(h('span', {}, d.message), ' ');
        for (const c of slot.controls) c.setAttribute('aria-invalid', 'true');
        firstInvalid ??= slot.controls[0];
      }
      render(
        formError,
        h(
          'p',
          { class: 'error' },
          problem
            ? t('actions:refusal.refused', {
                code: problem.code ?? problem.status,
                message: problem.message,
              })
            : t('actions:refusal.notSent', { reason: String(err) }),
        ),
        unplaced.length
          ? h(
              'ul',
              { class: 'error' },
              unplaced.map((d) => h('li', {}, d.path ? `${d.path}: ${d.message}` : d.message)),
            )
          : null,
      );
      (firstInvalid ?? submit).focus();
    };

    /**
     * Sends the form's body, once at a time, with the key of this body.
     * @param {HTMLFormElement} form
     */
    const send = async (form) => {
      if (busy || !detail) return;
      busy = true;
      submit.disabled = true;
      clearErrors();
      const data = new FormData(form);
      /** @type {Record<string, string>} */
      const values = {};
      for (const [k, v] of data.entries()) if (typeof v === 'string') values[k] = v;
      const body = spec.body(values, detail);
      const bodyKey = JSON.stringify(body);
      if (!sent || sent.body !== bodyKey) sent = { body: bodyKey, key: newKey() };
      try {
        const answer = /** @type {{ status: string }} */ (
          await callApi('POST', `/v1/requests/${encodeURIComponent(id)}/${spec.path}`, {
            json: body,
            headers: { 'idempotency-key': sent.key },
          })
        );
        const said = t('actions:sent', { what: t(spec.done), state: stateWords(answer.status) });
        closeForm();
        // A live region: read out once.
        render(outcome, said);
        page.refresh();
        // The buttons change with the new state: the focus goes to what was said.
        outcome.focus();
        busy = false;
      } catch (err) {
        busy = false;
        submit.disabled = false;
        if (!ctx.sessionLost(err)) showRefusal(err);
      }
    };

    return h(
      'form',
      {
        class: 'action-form',
        'data-form': name,
        'aria-labelledby': `action-${name}-title`,
        onsubmit: (e) => {
          e.preventDefault();
          void send(/** @type {HTMLFormElement} */ (e.currentTarget));
        },
        onkeydown: (e) => {
          if (e instanceof KeyboardEvent && e.key === 'Escape') closeForm({ focus: true });
        },
      },
      h('h3', { id: `action-${name}-title` }, spec.title),
      fieldEls,
      formError,
      h(
        'div',
        { class: 'actions' },
        submit,
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => closeForm({ focus: true }) },
          t('actions:forms.cancel'),
        ),
      ),
    );
  }

  /** @param {RequestDetail} d */
  function drawButtons(d) {
    const names = formsFor(d.allowedActions.map((a) => a.action));
    const key = names.join(' ');
    if (key === drawnForms) return;
    drawnForms = key;
    if (open && !names.includes(open.name)) {
      const gone = buttonText(open.name);
      closeForm();
      const said = t('actions:panel.noLongerPossible', {
        action: gone,
        state: stateWords(d.status),
      });
      render(outcome, said);
    }
    render(
      toolbar,
      names.length
        ? names.map((name) =>
            h(
              'button',
              {
                type: 'button',
                class: FORMS[name]?.danger ? 'secondary danger' : 'secondary',
                'data-action': name,
                'aria-expanded': open?.name === name ? 'true' : 'false',
                'aria-controls': 'action-form-slot',
                'data-focus-key': `action-${name}`,
                onclick: () => (open?.name === name ? closeForm({ focus: true }) : openForm(name)),
              },
              buttonText(name),
            ),
          )
        : h('p', { class: 'empty' }, t('actions:panel.nothing')),
    );
  }
  formSlot.id = 'action-form-slot';

  /** @param {RequestDetail} d */
  function drawCoverage(d) {
    const key = JSON.stringify(d.coverage);
    if (key === drawnCoverage) return;
    drawnCoverage = key;
    render(
      coverageBox,
      table(
        t('actions:coverage.heading'),
        [
          t('actions:coverage.item'),
          t('actions:coverage.state'),
          t('actions:coverage.byMessage'),
          t('actions:coverage.reason'),
        ],
        d.coverage.map((c) =>
          h(
            'tr',
            { 'data-item': c.item_id },
            h('td', { class: 'mono' }, c.item_id),
            h(
              'td',
              {},
              h(
                'span',
                { class: `badge coverage-${c.state}` },
                t(`actions:coverage.states.${c.state}`, { defaultValue: c.state }),
              ),
            ),
            h('td', { class: 'mono' }, c.by.length ? c.by.join(', ') : '—'),
            h('td', {}, c.reason ?? ''),
          ),
        ),
        { empty: t('actions:coverage.empty'), captionHidden: true },
      ),
    );
  }

  /**
   * Where a question about a clarification item goes now: the question form (responder), or the
   * closure as incomplete (requester of an answered request); undefined when neither is allowed.
   * @param {RequestDetail} d
   * @param {string} question
   * @returns {[string, Record<string, string>] | undefined}
   */
  const askWith = (d, question) => {
    const names = formsFor(d.allowedActions.map((a) => a.action));
    if (names.includes('ask_clarification')) return ['ask_clarification', { questions: question }];
    if (d.allowedActions.some((a) => a.action === 'close_incomplete'))
      return ['close', { outcome: 'incomplete', reason: question }];
    return undefined;
  };

  /** @param {RequestDetail} d */
  function drawItems(d) {
    const can = askWith(d, '') !== undefined;
    const key = JSON.stringify([d.clarificationItems, can]);
    if (key === drawnItems) return;
    drawnItems = key;
    render(
      itemsBox,
      d.clarificationItems.length
        ? [
            h(
              'p',
              { class: 'help' },
              t('actions:clarificationItems.help'),
              can ? null : ` ${t('actions:clarificationItems.noQuestion')}`,
            ),
            h(
              'ul',
              { class: 'clarification-items' },
              d.clarificationItems.map((c, i) => {
                const question = t('actions:clarificationItems.question', {
                  path: c.path,
                  msg: c.msg_id,
                  message: c.message,
                });
                return h(
                  'li',
                  { 'data-code': c.code },
                  h('strong', {}, c.message),
                  ' ',
                  h(
                    'span',
                    { class: 'muted' },
                    t('actions:clarificationItems.where', {
                      code: c.code,
                      path: c.path,
                      msg: c.msg_id,
                    }),
                  ),
                  can
                    ? [
                        ' ',
                        h(
                          'button',
                          {
                            type: 'button',
                            class: 'secondary small',
                            'data-focus-key': `ask-item-${i}`,
                            onclick: () => {
                              const target = detail && askWith(detail, question);
                              if (target) openForm(target[0], target[1]);
                            },
                          },
                          t('actions:clarificationItems.ask'),
                          h('span', { class: 'visually-hidden' }, `: ${c.message}`),
                        ),
                      ]
                    : null,
                );
              }),
            ),
          ]
        : h('p', { class: 'empty' }, t('actions:clarificationItems.empty')),
    );
  }

  return {
    panel,
    coverage,
    clarification,
    /** @param {RequestDetail} d */
    update(d) {
      detail = d;
      drawButtons(d);
      drawCoverage(d);
      drawItems(d);
    },
  };
}
