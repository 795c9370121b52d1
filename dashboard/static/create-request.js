/* global document, location, history, crypto */
// The officers' create page, `/dashboard/requests/new`: one form for the three kinds of request,
// sent to `POST /v1/requests` as the user. The fields follow the subjects' zod schemas
// (schemas/domain/): a mine map's areas (drawn on the map, imported from GeoJSON or KML, or typed
// as coordinates: draw-map.js) and named administrative areas, laying period, hazard types,
// purpose and precision; grave information's cases, areas, named areas, incidents and periods; an
// identification request's cases and remains and what is asked. The page holds no rule of the
// schemas: the node checks the body, and each error of its problem document (`errors[].path`, an
// RFC 6901 pointer into the body) is shown at the field it names, marked invalid and described by
// the message. Every submission carries an Idempotency-Key, the same for the same body, so a
// double click or a retry creates one request; the node's 201 leads to the new request's page.
import { ApiError, callApi, getJson } from './api.js';
import { h, KINDS, PRIORITIES, render } from './dom.js';
import { areaEditor, geometryOf } from './draw-map.js';
import { t } from './i18n.js';

/** @typedef {import('./dom.js').Attrs} Attrs */
/** Where an error is shown: the message's slot, and the controls marked invalid. */
/** @typedef {{ error: HTMLElement; controls: HTMLElement[] }} Slot */
/** @typedef {HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement} Control */

const STYLE = '/dashboard/static/create-request.css';

// The values the API takes; their words are under `create:mine.hazards.types`,
// `create:mine.purpose.options` and `create:ident.asked.options`.
const HAZARD_TYPES = [
  'minefield',
  'mined_area',
  'booby_trapped_area',
  'unexploded_ordnance',
  'cluster_munition_strike_area',
];
const PURPOSES = ['clearance_planning', 'return_of_civilians', 'infrastructure', 'other'];
const ASKED = ['identification_results', 'dna_profiles', 'remains_status'];
/** The key of the hint under a date's "from" field. */
const DATE_HINT = 'create:dateHint';

/** A fresh Idempotency-Key (random, not a UUID API: works on plain http too). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A labelled control with its hint and error slot, described by both.
 * @param {{ id: string; label: string; hint?: string; required?: boolean;
 *   as?: 'input' | 'textarea' | 'select'; options?: [string, string][]; attrs?: Attrs }} f
 * @returns {{ el: HTMLElement; input: Control; slot: Slot }}
 */
function field(f) {
  const errorId = `${f.id}-error`;
  const hintId = f.hint ? `${f.id}-hint` : null;
  /** @type {Attrs} */
  const attrs = {
    id: f.id,
    name: f.id,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    'aria-required': f.required ? 'true' : null,
    ...f.attrs,
  };
  const input =
    f.as === 'textarea'
      ? h('textarea', { rows: 3, ...attrs })
      : f.as === 'select'
        ? h(
            'select',
            attrs,
            (f.options ?? []).map(([value, text]) => h('option', { value }, text)),
          )
        : h('input', { type: 'text', ...attrs });
  const error = h('p', { class: 'field-error', id: errorId });
  const el = h(
    'div',
    { class: 'field', 'data-field': f.id },
    h('label', { for: f.id }, f.label, f.required ? ` ${t('create:field.required')}` : null),
    hintId ? h('p', { class: 'hint', id: hintId }, f.hint) : null,
    input,
    error,
  );
  return { el, input, slot: { error, controls: [input] } };
}

/**
 * A group of checkboxes, one per value.
 * @param {string} id
 * @param {string} legend
 * @param {[string, string][]} labels each value and its words
 * @param {string} [hint]
 */
function checkboxes(id, legend, labels, hint) {
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const inputs = labels.map(([value], i) =>
    h('input', {
      type: 'checkbox',
      id: `${id}-${i}`,
      name: id,
      value,
      'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    }),
  );
  const error = h('p', { class: 'field-error', id: errorId });
  const el = h(
    'fieldset',
    { class: 'choices', 'data-field': id },
    h('legend', {}, legend),
    hintId ? h('p', { class: 'hint', id: hintId }, hint) : null,
    inputs.map((input, i) =>
      h('label', { class: 'choice', for: input.id }, input, ` ${labels[i]?.[1] ?? ''}`),
    ),
    error,
  );
  return {
    el,
    values: () => inputs.filter((i) => i.checked).map((i) => i.value),
    slot: { error, controls: /** @type {HTMLElement[]} */ (inputs) },
  };
}

/**
 * A date or period as the schemas take it: one date when both ends are the same, else from and/or
 * to; undefined when both are empty.
 * @param {string} from
 * @param {string} to
 */
function period(from, to) {
  const start = from.trim();
  const end = to.trim();
  if (!start && !end) return undefined;
  if (start && start === end) return { date: start };
  return { ...(start ? { from: start } : {}), ...(end ? { to: end } : {}) };
}

/**
 * @typedef {{ key: string; label: string; as?: 'input' | 'textarea'; hint?: string;
 *   required?: boolean; upper?: boolean }} ItemField
 * `key`: the member's path in the item, `/` between levels (admin_area/name); `from`/`to` pairs
 * make a period. `label`, `hint`: catalog keys, translated where the field is made
 * @typedef {{ fields: ItemField[] }} ItemKind
 * An item kind's own words are under `create:items.<kind>` (legend, add, added, removed, removeWhat)
 * @typedef {{ kind: string; n: number; inputs: Map<string, Control>; slots: Map<string, Slot>;
 *   slot: Slot; fieldset: HTMLElement }} ItemEntry
 */

/** @type {Record<string, ItemKind>} */
const ITEM_KINDS = {
  admin_area: {
    fields: [
      { key: 'admin_area/name', label: 'create:items.admin_area.name', required: true },
      {
        key: 'admin_area/country',
        label: 'create:items.admin_area.country',
        hint: 'create:items.admin_area.countryHint',
        upper: true,
      },
      {
        key: 'admin_area/code',
        label: 'create:items.admin_area.code',
        hint: 'create:items.admin_area.codeHint',
      },
    ],
  },
  case: {
    fields: [
      {
        key: 'case_id',
        label: 'create:items.case.caseId',
        hint: 'create:items.case.caseIdHint',
        required: true,
      },
    ],
  },
  remains: {
    fields: [
      {
        key: 'remains_id',
        label: 'create:items.remains.remainsId',
        hint: 'create:items.remains.remainsIdHint',
        required: true,
      },
    ],
  },
  incident: {
    fields: [
      {
        key: 'description',
        label: 'create:items.incident.description',
        as: 'textarea',
        hint: 'create:items.incident.descriptionHint',
        required: true,
      },
      { key: 'when/from', label: 'create:items.incident.whenFrom', hint: DATE_HINT },
      { key: 'when/to', label: 'create:items.incident.whenTo' },
      { key: 'place', label: 'create:items.incident.place' },
    ],
  },
  period: {
    fields: [
      { key: 'period/from', label: 'create:items.period.from', hint: DATE_HINT },
      { key: 'period/to', label: 'create:items.period.to' },
      { key: 'admin_area/name', label: 'create:items.period.adminAreaName' },
      { key: 'admin_area/country', label: 'create:items.period.adminAreaCountry', upper: true },
    ],
  },
};

/**
 * A list of items of the given kinds, each a fieldset with its fields and a Remove button.
 * @param {string} idPrefix
 * @param {string} heading
 * @param {string[]} kinds keys of ITEM_KINDS
 * @param {(text: string) => void} announce
 */
function itemList(idPrefix, heading, kinds, announce) {
  /** @type {ItemEntry[]} */
  const entries = [];
  let counter = 0;
  const list = h('ol', { class: 'item-list', id: `${idPrefix}-items` });
  const empty = h('p', { class: 'empty' }, t('create:items.none'));
  const listError = h('p', { class: 'field-error', id: `${idPrefix}-items-error` });
  const buttons = h('div', { class: 'actions add-buttons' });

  /** @param {string} kind */
  const add = (kind) => {
    const spec = ITEM_KINDS[kind];
    if (!spec) return;
    const n = ++counter;
    const id = `${idPrefix}-${n}`;
    /** @type {Map<string, Control>} */
    const inputs = new Map();
    /** @type {Map<string, Slot>} */
    const slots = new Map();
    const itemError = h('p', { class: 'field-error', id: `${id}-error` });
    const fields = spec.fields.map((f) => {
      const made = field({
        id: `${id}-${f.key.replaceAll('/', '-')}`,
        label: t(f.label),
        required: f.required,
        as: f.as,
        hint: f.hint ? t(f.hint) : undefined,
      });
      made.input.setAttribute(
        'aria-describedby',
        `${made.input.getAttribute('aria-describedby') ?? ''} ${id}-error`.trim(),
      );
      inputs.set(f.key, made.input);
      slots.set(f.key, made.slot);
      return made.el;
    });
    const legendId = `${id}-legend`;
    const fieldset = h(
      'fieldset',
      { class: 'item', 'data-item-kind': kind, 'aria-labelledby': legendId },
      h('legend', { id: legendId }, t(`create:items.${kind}.legend`, { n })),
      fields,
      itemError,
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small danger',
          onclick: () => {
            entries.splice(
              entries.findIndex((e) => e.n === n),
              1,
            );
            li.remove();
            empty.hidden = entries.length > 0;
            announce(t(`create:items.${kind}.removed`, { n }));
            buttons.querySelector('button')?.focus();
          },
        },
        t('create:items.remove'),
        h('span', { class: 'visually-hidden' }, ` ${t(`create:items.${kind}.removeWhat`, { n })}`),
      ),
    );
    const li = h('li', {}, fieldset);
    list.append(li);
    entries.push({
      kind,
      n,
      inputs,
      slots,
      slot: { error: itemError, controls: [...inputs.values()].slice(0, 1) },
      fieldset,
    });
    empty.hidden = true;
    inputs.values().next().value?.focus();
    announce(t(`create:items.${kind}.added`, { n }));
  };

  for (const kind of kinds) {
    const spec = ITEM_KINDS[kind];
    if (spec)
      buttons.append(
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => add(kind) },
          t(`create:items.${kind}.add`),
        ),
      );
  }

  return {
    element: h(
      'div',
      { class: 'item-editor' },
      h('h3', { id: `${idPrefix}-items-title` }, heading),
      empty,
      list,
      listError,
      buttons,
    ),
    listError,
    /**
     * The items as the body has them, and where each member's errors go.
     * @returns {{ item: Record<string, unknown>; slots: Map<string, Slot>; slot: Slot }[]}
     */
    items: () =>
      entries.map((e) => {
        /** @type {Record<string, unknown>} */
        const item = { item_id: `${e.kind.replaceAll('_', '-')}-${e.n}`, kind: e.kind };
        /** @type {Record<string, Record<string, string>>} */
        const groups = {};
        const spec = ITEM_KINDS[e.kind];
        for (const f of spec?.fields ?? []) {
          const raw = e.inputs.get(f.key)?.value.trim() ?? '';
          const value = f.upper ? raw.toUpperCase() : raw;
          const [head, sub] = f.key.split('/');
          if (!head) continue;
          if (sub === undefined) {
            if (value) item[head] = value;
          } else (groups[head] ??= {})[sub] = value;
        }
        /** @type {Map<string, Slot>} */
        const slots = new Map(e.slots);
        for (const [head, members] of Object.entries(groups)) {
          const from = e.slots.get(`${head}/from`);
          if ('from' in members || 'to' in members) {
            const p = period(members.from ?? '', members.to ?? '');
            if (p) item[head] = p;
            if (from) slots.set(`${head}/date`, from);
          } else {
            const present = Object.entries(members).filter(([, v]) => v);
            if (present.length) item[head] = Object.fromEntries(present);
          }
          // An error about the whole group ("a date, or a period") goes to its first field.
          const first = [...e.slots.entries()].find(([k]) => k.startsWith(`${head}/`));
          if (first)
            slots.set(head, {
              error: first[1].error,
              controls: [...e.slots.entries()]
                .filter(([k]) => k.startsWith(`${head}/`))
                .flatMap(([, s]) => s.controls),
            });
        }
        return { item, slots, slot: e.slot };
      }),
  };
}

/**
 * The create page.
 * @param {import('./types.js').ViewContext} ctx
 */
export function createRequestPage(ctx) {
  if (!document.querySelector(`link[href="${STYLE}"]`))
    document.head.append(h('link', { rel: 'stylesheet', href: STYLE }));
  const url = new URLSearchParams(location.search);
  const announce = ctx.announce;

  // The request.
  const partners = h('datalist', { id: 'create-partners' });
  const partner = field({
    id: 'create-counterparty',
    label: t('create:request.partner.label'),
    hint: t('create:request.partner.hint'),
    required: true,
    attrs: { list: 'create-partners', autocomplete: 'off', spellcheck: 'false' },
  });
  partner.input.value = url.get('partner') ?? '';
  // The mediator the request goes through, when the registries of both parties agree one per
  // request (README, _A mediator per request_); empty: the registry's route for the partner.
  const mediator = field({
    id: 'create-mediator',
    label: t('create:request.mediator.label'),
    hint: t('create:request.mediator.hint'),
    attrs: { autocomplete: 'off', spellcheck: 'false' },
  });
  mediator.input.value = url.get('mediator') ?? '';
  const type = field({
    id: 'create-type',
    label: t('create:request.type.label'),
    as: 'select',
    options: KINDS.map((k) => [k, t(`create:request.type.kinds.${k}`)]),
  });
  const initialType = url.get('type');
  if (initialType && KINDS.includes(initialType)) type.input.value = initialType;
  const priority = field({
    id: 'create-priority',
    label: t('create:request.priority.label'),
    as: 'select',
    options: PRIORITIES.map((p) => [p, t(`create:request.priority.levels.${p}`)]),
    hint: t('create:request.priority.hint'),
  });
  const title = field({
    id: 'create-title',
    label: t('create:request.title.label'),
    hint: t('create:request.title.hint'),
    required: true,
    attrs: { maxlength: 200 },
  });
  const description = field({
    id: 'create-description',
    label: t('create:request.description.label'),
    as: 'textarea',
  });

  // Mine map.
  const mineAreas = areaEditor({ idPrefix: 'mine-area', tileUrl: ctx.config.mapTileUrl, announce });
  const mineNamed = itemList('mine-named', t('create:mine.namedAreas'), ['admin_area'], announce);
  const layingFrom = field({
    id: 'create-laying-from',
    label: t('create:mine.laying.from'),
    hint: t(DATE_HINT),
  });
  const layingTo = field({ id: 'create-laying-to', label: t('create:mine.laying.to') });
  const hazards = checkboxes(
    'create-hazard-types',
    t('create:mine.hazards.legend'),
    HAZARD_TYPES.map((v) => [v, t(`create:mine.hazards.types.${v}`)]),
    t('create:mine.hazards.hint'),
  );
  const purpose = field({
    id: 'create-purpose',
    label: t('create:mine.purpose.label'),
    as: 'select',
    required: true,
    options: [
      ['', t('create:mine.purpose.choose')],
      ...PURPOSES.map(
        (v) => /** @type {[string, string]} */ ([v, t(`create:mine.purpose.options.${v}`)]),
      ),
    ],
  });
  const purposeNote = field({
    id: 'create-purpose-note',
    label: t('create:mine.purposeNote.label'),
    as: 'textarea',
  });
  const precision = field({
    id: 'create-precision',
    label: t('create:mine.precision.label'),
    attrs: { inputmode: 'decimal' },
  });
  const mineSection = h(
    'section',
    { class: 'panel type-section', 'data-type': 'mine_map', 'aria-labelledby': 'mine-title' },
    h('h2', { id: 'mine-title' }, t('create:mine.heading')),
    h(
      'section',
      { 'aria-labelledby': 'mine-areas-title' },
      h('h3', { id: 'mine-areas-title' }, t('create:mine.areas')),
      mineAreas.element,
    ),
    mineNamed.element,
    h(
      'fieldset',
      { class: 'field-group', 'data-field': 'create-laying' },
      h('legend', {}, t('create:mine.laying.legend')),
      h('div', { class: 'field-row' }, layingFrom.el, layingTo.el),
    ),
    hazards.el,
    h('div', { class: 'field-row' }, purpose.el, precision.el),
    purposeNote.el,
  );

  // Grave information.
  const graveAreas = areaEditor({
    idPrefix: 'grave-area',
    tileUrl: ctx.config.mapTileUrl,
    announce,
  });
  const graveItems = itemList(
    'grave',
    t('create:grave.items'),
    ['case', 'admin_area', 'incident', 'period'],
    announce,
  );
  const graveSection = h(
    'section',
    {
      class: 'panel type-section',
      'data-type': 'grave_information',
      'aria-labelledby': 'grave-title',
    },
    h('h2', { id: 'grave-title' }, t('create:grave.heading')),
    graveItems.element,
    h(
      'section',
      { 'aria-labelledby': 'grave-areas-title' },
      h('h3', { id: 'grave-areas-title' }, t('create:grave.areas')),
      graveAreas.element,
    ),
  );

  // Identification results.
  const idItems = itemList('ident', t('create:ident.items'), ['case', 'remains'], announce);
  const asked = checkboxes(
    'create-asked',
    t('create:ident.asked.legend'),
    ASKED.map((v) => [v, t(`create:ident.asked.options.${v}`)]),
  );
  const idSection = h(
    'section',
    {
      class: 'panel type-section',
      'data-type': 'identification_result',
      'aria-labelledby': 'ident-title',
    },
    h('h2', { id: 'ident-title' }, t('create:ident.heading')),
    idItems.element,
    asked.el,
  );

  const sections = [mineSection, graveSection, idSection];
  const showType = () => {
    for (const s of sections) s.hidden = s.dataset.type !== type.input.value;
    if (type.input.value === 'mine_map') mineAreas.start();
    if (type.input.value === 'grave_information') graveAreas.start();
  };
  type.input.addEventListener('change', () => {
    showType();
    const q = new URLSearchParams(location.search);
    q.set('type', type.input.value);
    history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
    announce(t(`create:request.type.chosen.${type.input.value}`));
  });

  const problem = h('div', { class: 'form-problem', role: 'alert' });
  const submit = h('button', { type: 'submit' }, t('create:submit.send'));
  /** Every slot an error was shown in, to clear them at the next try. */
  /** @type {Slot[]} */
  let shown = [];
  /** The key of the last body sent: the same body again is the same request. */
  /** @type {{ body: string; key: string } | undefined} */
  let sent;
  let busy = false;

  /**
   * The body of the form as the API takes it, and the slot of each path in it.
   * @returns {{ body: Record<string, unknown>; slots: Map<string, Slot> }}
   */
  function build() {
    /** @type {Map<string, Slot>} */
    const slots = new Map([
      ['/counterparty', partner.slot],
      ['/mediator', mediator.slot],
      ['/type', type.slot],
      ['/priority', priority.slot],
      ['/subject/title', title.slot],
      ['/subject/description', description.slot],
    ]);
    /** @type {Record<string, unknown>} */
    const subject = { title: title.input.value };
    if (description.input.value.trim()) subject.description = description.input.value;
    /** @type {Record<string, unknown>[]} */
    const items = [];
    /**
     * @param {{ item: Record<string, unknown>; slots: Map<string, Slot>; slot: Slot }[]} list
     */
    const addItems = (list) => {
      for (const x of list) {
        const i = items.length;
        items.push(x.item);
        slots.set(`/subject/items/${i}`, x.slot);
        for (const [k, s] of x.slots) slots.set(`/subject/items/${i}/${k}`, s);
      }
    };
    /** @param {ReturnType<typeof areaEditor>} editor */
    const addAreas = (editor) => {
      for (const [n, a] of editor.areas().entries()) {
        const i = items.length;
        items.push({
          item_id: `area-${n + 1}`,
          kind: 'area',
          ...(a.label ? { label: a.label } : {}),
          geometry: geometryOf(a.polygons),
        });
        slots.set(`/subject/items/${i}`, a.slot);
        slots.set(`/subject/items/${i}/label`, a.labelSlot);
      }
    };
    const kind = type.input.value;
    if (kind === 'mine_map') {
      addAreas(mineAreas);
      addItems(mineNamed.items());
      slots.set('/subject/items', { error: mineAreas.listError, controls: [] });
      const laying = period(layingFrom.input.value, layingTo.input.value);
      if (laying) subject.laying_period = laying;
      slots.set('/subject/laying_period', {
        error: layingFrom.slot.error,
        controls: [layingFrom.input, layingTo.input],
      });
      slots.set('/subject/laying_period/from', layingFrom.slot);
      slots.set('/subject/laying_period/date', layingFrom.slot);
      slots.set('/subject/laying_period/to', layingTo.slot);
      const ticked = hazards.values();
      if (ticked.length) subject.hazard_types = ticked;
      slots.set('/subject/hazard_types', hazards.slot);
      if (purpose.input.value) subject.purpose = purpose.input.value;
      slots.set('/subject/purpose', purpose.slot);
      if (purposeNote.input.value.trim()) subject.purpose_note = purposeNote.input.value;
      slots.set('/subject/purpose_note', purposeNote.slot);
      if (precision.input.value.trim())
        subject.requested_precision_m = precision.input.value.trim().replace(',', '.');
      slots.set('/subject/requested_precision_m', precision.slot);
    } else if (kind === 'grave_information') {
      addItems(graveItems.items());
      addAreas(graveAreas);
      slots.set('/subject/items', { error: graveItems.listError, controls: [] });
    } else {
      addItems(idItems.items());
      slots.set('/subject/items', { error: idItems.listError, controls: [] });
      subject.asked = asked.values();
      slots.set('/subject/asked', asked.slot);
    }
    subject.items = items;
    return {
      body: {
        type: kind,
        counterparty: partner.input.value.trim(),
        priority: priority.input.value,
        ...(mediator.input.value.trim() ? { mediator: mediator.input.value.trim() } : {}),
        subject,
      },
      slots,
    };
  }

  const clearErrors = () => {
    render(problem);
    for (const s of shown) {
      render(s.error);
      for (const c of s.controls) c.removeAttribute('aria-invalid');
    }
    shown = [];
  };

  /**
   * The slot of the longest registered prefix of an error's path.
   * @param {string} path
   * @param {Map<string, Slot>} slots
   */
  const slotOf = (path, slots) => {
    const segments = path.split('/');
    while (segments.length > 1) {
      const s = slots.get(segments.join('/'));
      if (s) return s;
      segments.pop();
    }
    return undefined;
  };

  /**
   * The node's refusal in words, each error at the field its path names.
   * @param {unknown} err
   * @param {Map<string, Slot>} slots
   */
  const showRefusal = (err, slots) => {
    const refusal = err instanceof ApiError ? err : undefined;
    const details = [...(refusal?.errors ?? [])];
    // The partner is not one this node knows: the node names no path, but it is the partner field.
    if (refusal?.code === 'unknown_party' && !details.length)
      details.push({ path: '/counterparty', message: refusal.message });
    /** @type {HTMLElement | undefined} */
    let firstInvalid;
    /** @type {{ path: string; message: string }[]} */
    const unplaced = [];
    for (const d of details) {
      const slot = slotOf(d.path, slots);
      if (!slot) {
        unplaced.push(d);
        continue;
      }
      slot.error.append(h('span', {}, d.message), ' ');
      for (const c of slot.controls) c.setAttribute('aria-invalid', 'true');
      shown.push(slot);
      firstInvalid ??= slot.controls[0];
      if (!firstInvalid && slot.error.isConnected) {
        slot.error.tabIndex = -1;
        firstInvalid = slot.error;
      }
    }
    const placed = details.length - unplaced.length;
    render(
      problem,
      h(
        'p',
        { class: 'error' },
        refusal
          ? t('create:submit.refused', {
              code: refusal.code ?? refusal.status,
              message: refusal.message.replace(/[.!?]?$/, '.'),
            })
          : t('create:submit.notSent', { error: String(err) }),
        placed
          ? ` ${placed === 1 ? t('create:submit.oneField') : t('create:submit.fields', { count: placed })}`
          : '',
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

  /** Sends the form's body, once at a time, with the key of this body. */
  const send = async () => {
    if (busy) return;
    busy = true;
    submit.disabled = true;
    clearErrors();
    const { body, slots } = build();
    const bodyKey = JSON.stringify(body);
    if (!sent || sent.body !== bodyKey) sent = { body: bodyKey, key: newKey() };
    try {
      const created = /** @type {{ id: string; counterparty: string }} */ (
        await callApi('POST', '/v1/requests', {
          json: body,
          headers: { 'idempotency-key': sent.key },
        })
      );
      announce(t('create:submit.created', { id: created.id, partner: created.counterparty }));
      ctx.navigate(`/dashboard/requests/${encodeURIComponent(created.id)}`);
    } catch (err) {
      busy = false;
      submit.disabled = false;
      if (!ctx.sessionLost(err)) showRefusal(err, slots);
    }
  };

  render(
    ctx.main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: '/dashboard/requests' }, t('create:page.crumbs.requests')),
      ` › ${t('create:page.crumbs.new')}`,
    ),
    h('h1', { tabindex: '-1', id: 'create-title-heading' }, t('create:page.heading')),
    h('p', { class: 'help' }, t('create:page.help')),
    h(
      'form',
      {
        id: 'create-request',
        class: 'create-form',
        novalidate: true,
        'aria-labelledby': 'create-title-heading',
        onsubmit: (e) => {
          e.preventDefault();
          void send();
        },
      },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'create-request-title' },
        h('h2', { id: 'create-request-title' }, t('create:request.heading')),
        h('div', { class: 'field-row' }, partner.el, type.el, priority.el),
        partners,
        mediator.el,
        title.el,
        description.el,
      ),
      sections,
      h('div', { class: 'panel submit-panel' }, problem, h('div', { class: 'actions' }, submit)),
    ),
  );
  showType();

  // Partners this officer has exchanged requests with, offered in the partner field (the partner
  // registry is for supervisors and admins).
  void getJson('/v1/requests?limit=200').then(
    (answer) => {
      const { items } = /** @type {{ items: { counterparty: string }[] }} */ (answer);
      const known = [...new Set(items.map((r) => r.counterparty))].sort();
      render(
        partners,
        known.map((p) => h('option', { value: p })),
      );
    },
    (/** @type {unknown} */ err) => void ctx.sessionLost(err),
  );

  return () => {
    mineAreas.stop();
    graveAreas.stop();
  };
}
