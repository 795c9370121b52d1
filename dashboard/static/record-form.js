/* global HTMLInputElement, HTMLSelectElement, HTMLTextAreaElement */
// Forms generated from JSON Schemas: the node's OpenAPI document (`/openapi.json`) holds the JSON
// Schema of every record type and response body, made by `z.toJSONSchema` from the zod schemas the
// node checks with, so a change of a schema changes the form with no edit here. Objects become
// fieldsets, arrays rows to add and remove (a set of checkboxes for an array of enum values),
// enums selects, strings inputs by their format (date, date-time; decimals as text, the protocol's
// number rule: every non-integer quantity travels as a decimal string), integers number inputs,
// booleans checkboxes, unions a choice of variant by their discriminating constant, and
// geometries a GeoJSON text box (no map needed). The node validates: a refusal's `errors[].path`
// (an RFC 6901 pointer into the body) is shown at the field it names, or at the nearest field
// above it.
import { h, render } from './dom.js';
import { formatNumber, language, t } from './i18n.js';

/** @typedef {{ [key: string]: unknown }} Schema */

/**
 * One part of a generated form. `value()` is what it contributes to the body (undefined: nothing
 * entered, left out); it throws an InputProblem for what cannot be sent at all (a GeoJSON text that
 * does not parse, an upload still running). `showError` shows a refusal at the part its path
 * (the segments under this part) names and returns the control to focus.
 * @typedef {{
 *   el: HTMLElement | null;
 *   value: () => unknown;
 *   showError: (segments: string[], message: string) => HTMLElement | undefined;
 *   clearErrors: () => void;
 * }} Control
 */

/**
 * What a part of the form is built from: its schema (resolved), its label, whether the body must
 * have it, and where it is (`/records/N/covers`: `*` for any row of an array).
 * @typedef {{
 *   schema: Schema;
 *   label: string;
 *   required: boolean;
 *   pattern: string;
 *   form: FormContext;
 * }} Part
 */

/**
 * @typedef {{
 *   components: Record<string, Schema>;
 *   idPrefix: string;
 *   next: () => string;
 *   widgets: Record<string, (part: Part) => Control>;
 *   arrayWidgets: ((part: Part, items: Schema) => Control | undefined)[];
 *   objectWidgets: ((part: Part) => Control | undefined)[];
 * }} FormContext
 */

/** What cannot be sent as entered: said at its field before anything goes to the node. */
export class InputProblem extends Error {
  /**
   * @param {HTMLElement | undefined} control
   * @param {string} message
   */
  constructor(control, message) {
    super(message);
    this.name = 'InputProblem';
    this.control = control;
  }
}

const GEOMETRY_TYPES = [
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon',
];
/** The wire form of decimals (schemas/domain/shared.ts DECIMAL_PATTERN). */
const DECIMAL_SOURCE = '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$';
const PARTIAL_DATE_START = '^(\\d{4})(?:-(0[1-9]';

/** @param {unknown} v @returns {v is Schema} */
const isSchema = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** @param {unknown} v @returns {Schema[]} */
const schemaList = (v) => (Array.isArray(v) ? v.filter(isSchema) : []);

/**
 * A schema with its `$ref` (to a component) and `allOf` merged in; its own description wins.
 * @param {Schema} s
 * @param {Record<string, Schema>} components
 * @returns {Schema}
 */
export function resolve(s, components) {
  let out = s;
  for (let i = 0; i < 16 && typeof out.$ref === 'string'; i++) {
    const name = out.$ref.replace('#/components/schemas/', '');
    const { $ref: _ref, ...rest } = out;
    const target = components[name];
    if (!target) return rest;
    out = { ...target, ...rest, refName: name };
  }
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out;
    /** @type {Schema} */
    const merged = {};
    for (const p of schemaList(allOf)) Object.assign(merged, resolve(p, components));
    out = { ...merged, ...rest };
  }
  return out;
}

/** `record_id` → "Record id". */
export const humanize = (/** @type {string} */ key) => {
  const s = key.replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};
/** "Reference points" → "Reference point": the label of one row. */
const singular = (/** @type {string} */ label) =>
  /[^s]s$/.test(label) ? label.slice(0, -1) : label;

/**
 * The label of a member of a record, in the page's language: the known members have one in the
 * catalog (`records:field.…`); a member a later schema adds gets its name made readable.
 * @param {string} name
 */
export const fieldLabel = (name) => t(`records:field.${name}`, { defaultValue: humanize(name) });

/**
 * The text of an enum value or a variant's tag in a select or a checkbox (`not_found` → "not
 * found"); the value sent stays as it is.
 * @param {string} value
 */
export const valueLabel = (value) =>
  t(`records:value.${value}`, { defaultValue: value.replaceAll('_', ' ') });

/** A label with the mark of a field the body must have. */
const requiredMark = (/** @type {string} */ label, /** @type {boolean} */ required) =>
  required ? t('records:form.required', { label }) : label;

/** Lower case in the page's language (a label inside a sentence). */
const lower = (/** @type {string} */ text) => text.toLocaleLowerCase(language());

/** @param {Schema} s */
const variantsOf = (s) => schemaList(s.oneOf ?? s.anyOf);

/**
 * Whether a (resolved) schema is a GeoJSON geometry, or a choice of geometries.
 * @param {Schema} s
 * @param {Record<string, Schema>} components
 */
function isGeometry(s, components) {
  const variants = variantsOf(s).length ? variantsOf(s) : [s];
  return variants.every((v) => {
    const r = resolve(v, components);
    const props = isSchema(r.properties) ? r.properties : {};
    const type = isSchema(props.type) ? props.type : {};
    return typeof type.const === 'string' && GEOMETRY_TYPES.includes(type.const);
  });
}

/** @param {Schema} s */
const isDecimal = (s) => s.refName === 'Decimal' || s.pattern === DECIMAL_SOURCE;

/**
 * A finite number as a plain decimal string (no exponent), as schemas/domain/shared.ts writes it.
 * @param {number} n
 */
export function toDecimalString(n) {
  const text = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const digits = int + frac;
  const point = int.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * A GeoJSON text with every number turned into a decimal string as written ("46.5800" keeps its
 * zeros: they state the source's precision), parsed. A Feature gives its geometry.
 * @param {string} text
 * @returns {unknown}
 */
export function parseGeoJson(text) {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (m) =>
    m.startsWith('"') ? m : JSON.stringify(/[eE]/.test(m) ? toDecimalString(Number(m)) : m),
  );
  /** @type {unknown} */
  const parsed = JSON.parse(quoted);
  if (isSchema(parsed) && parsed.type === 'Feature') return parsed.geometry;
  return parsed;
}

/**
 * The label, hint and error of a field, around its control.
 * @param {Part} part
 * @param {string} id
 * @param {HTMLElement} control
 * @param {string} [extraHint]
 */
function fieldFrame(part, id, control, extraHint) {
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  const text = [
    typeof part.schema.description === 'string' ? part.schema.description : '',
    extraHint ?? '',
  ]
    .filter(Boolean)
    .join('. ');
  const hint = text ? h('p', { class: 'hint', id: `${id}-hint` }, text) : null;
  control.setAttribute(
    'aria-describedby',
    [hint ? `${id}-hint` : '', `${id}-error`].join(' ').trim(),
  );
  if (part.required) control.setAttribute('aria-required', 'true');
  const el = h(
    'div',
    { class: 'field', 'data-path': part.pattern },
    h('label', { for: id }, requiredMark(part.label, part.required)),
    hint,
    control,
    error,
  );
  return { el, error };
}

/**
 * A leaf: one input, select or text box, and how its text becomes a value.
 * @param {Part} part
 * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} control
 * @param {(raw: string) => unknown} read
 * @param {string} [extraHint]
 * @returns {Control}
 */
function leaf(part, control, read, extraHint) {
  const { el, error } = fieldFrame(part, control.id, control, extraHint);
  return {
    el,
    value: () => {
      const raw =
        control instanceof HTMLInputElement && control.type === 'checkbox' ? '' : control.value;
      if (raw.trim() === '') return undefined;
      return read(raw);
    },
    showError: (_segments, message) => {
      error.append(h('span', {}, message), ' ');
      control.setAttribute('aria-invalid', 'true');
      return control;
    },
    clearErrors: () => {
      render(error);
      control.removeAttribute('aria-invalid');
    },
  };
}

/** A datetime-local value (the reader's time zone) as an RFC 3339 UTC instant. */
const instant = (/** @type {string} */ v) => {
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? v : new Date(ms).toISOString().replace('.000Z', 'Z');
};

/** @param {Part} part @returns {Control} */
function stringControl(part) {
  const s = part.schema;
  const id = part.form.next();
  const name = part.pattern;
  if (s.format === 'date') return leaf(part, h('input', { id, name, type: 'date' }), (v) => v);
  if (s.format === 'date-time')
    return leaf(part, h('input', { id, name, type: 'datetime-local' }), instant);
  if (isDecimal(s))
    return leaf(
      part,
      h('input', { id, name, type: 'text', inputmode: 'decimal', autocomplete: 'off' }),
      (v) => v.trim(),
      t('records:decimal.hint'),
    );
  if (typeof s.pattern === 'string' && s.pattern.startsWith(PARTIAL_DATE_START))
    return leaf(
      part,
      h('input', { id, name, type: 'text', placeholder: t('records:partialDate.placeholder') }),
      (v) => v.trim(),
    );
  const long = typeof s.maxLength === 'number' && s.maxLength > 500;
  return leaf(
    part,
    long ? h('textarea', { id, name, rows: 3 }) : h('input', { id, name, type: 'text' }),
    (v) => v,
  );
}

/** @param {Part} part @returns {Control} */
function integerControl(part) {
  const s = part.schema;
  const id = part.form.next();
  const input = h('input', {
    id,
    name: part.pattern,
    type: 'number',
    step: s.type === 'integer' ? 1 : 'any',
    min: typeof s.minimum === 'number' ? s.minimum : null,
    max: typeof s.maximum === 'number' && s.maximum < 1e15 ? s.maximum : null,
  });
  // A number the page cannot hold exactly goes as typed: the node refuses it at this field.
  return leaf(part, input, (v) => {
    const n = Number(v);
    return Number.isFinite(n) && (s.type !== 'integer' || Number.isSafeInteger(n)) ? n : v;
  });
}

/** @param {Part} part @returns {Control} */
function enumControl(part) {
  const id = part.form.next();
  const values = Array.isArray(part.schema.enum) ? part.schema.enum.map(String) : [];
  const select = h(
    'select',
    { id, name: part.pattern },
    h(
      'option',
      { value: '' },
      part.required ? t('records:select.choose') : t('records:select.notStated'),
    ),
    values.map((v) => h('option', { value: v }, valueLabel(v))),
  );
  return leaf(part, select, (v) => v);
}

/** @param {Part} part @returns {Control} */
function booleanControl(part) {
  const id = part.form.next();
  const input = h('input', { id, name: part.pattern, type: 'checkbox' });
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  input.setAttribute('aria-describedby', `${id}-error`);
  return {
    el: h(
      'div',
      { class: 'field', 'data-path': part.pattern },
      h('label', { class: 'choice' }, input, ` ${part.label}`),
      error,
    ),
    value: () => (input.checked ? true : part.required ? false : undefined),
    showError: (_s, message) => {
      error.append(h('span', {}, message), ' ');
      input.setAttribute('aria-invalid', 'true');
      return input;
    },
    clearErrors: () => {
      render(error);
      input.removeAttribute('aria-invalid');
    },
  };
}

/** A GeoJSON text box: paste or type a geometry (or a Feature); numbers go as decimal strings. */
/** @param {Part} part @returns {Control} */
function geometryControl(part) {
  const id = part.form.next();
  const kindList = (variantsOf(part.schema).length ? variantsOf(part.schema) : [part.schema]).map(
    (v) => {
      const r = resolve(v, part.form.components);
      const props = isSchema(r.properties) ? r.properties : {};
      return isSchema(props.type) ? String(props.type.const) : '';
    },
  );
  const kinds = kindList.join(` ${t('records:geometry.or')} `);
  const area = h('textarea', {
    id,
    name: part.pattern,
    rows: 4,
    class: 'mono',
    spellcheck: 'false',
    placeholder: `{"type": "${kindList[0] ?? ''}", "coordinates": …}`,
  });
  const control = leaf(
    part,
    area,
    (v) => {
      try {
        return parseGeoJson(v);
      } catch (err) {
        control.showError(
          [],
          t('records:geometry.notGeoJson', {
            error: err instanceof Error ? err.message : String(err),
          }),
        );
        throw new InputProblem(area, t('records:geometry.problem'));
      }
    },
    t('records:geometry.hint', { kinds }),
  );
  return control;
}

/** A JSON text box, for what no control here is made for. */
/** @param {Part} part @returns {Control} */
function jsonControl(part) {
  const id = part.form.next();
  const area = h('textarea', {
    id,
    name: part.pattern,
    rows: 3,
    class: 'mono',
    spellcheck: 'false',
  });
  const control = leaf(
    part,
    area,
    (v) => {
      try {
        return /** @type {unknown} */ (JSON.parse(v));
      } catch (err) {
        control.showError(
          [],
          t('records:json.notJson', { error: err instanceof Error ? err.message : String(err) }),
        );
        throw new InputProblem(area, t('records:json.problem'));
      }
    },
    t('records:json.hint'),
  );
  return control;
}

/**
 * A fieldset's own error line and how errors below it are placed.
 * @param {string} id
 */
function ownError(id) {
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  return {
    error,
    /** @param {string} message @param {HTMLElement} focus */
    show: (message, focus) => {
      error.append(h('span', {}, message), ' ');
      return focus;
    },
  };
}

/** @param {Part} part @param {boolean} [bare] no legend (the form's own top level) @returns {Control} */
function objectControl(part, bare = false) {
  const s = part.schema;
  const id = part.form.next();
  const props = isSchema(s.properties)
    ? Object.entries(s.properties).filter(([, v]) => isSchema(v))
    : [];
  const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
  /** @type {[string, Control][]} */
  const children = props.map(([key, ps]) => [
    key,
    build({
      schema: resolve(/** @type {Schema} */ (ps), part.form.components),
      label: fieldLabel(key),
      required: required.has(key),
      pattern: `${part.pattern}/${key}`,
      form: part.form,
    }),
  ]);
  const own = ownError(id);
  const legend = h('legend', { tabindex: '-1', id }, requiredMark(part.label, part.required));
  // A long description (a record type's rules) folds away.
  const hint =
    typeof s.description !== 'string' || bare
      ? null
      : s.description.length > 200
        ? h(
            'details',
            { class: 'hint' },
            h('summary', {}, t('records:object.checks', { label: lower(part.label) })),
            h('p', {}, s.description),
          )
        : h('p', { class: 'hint' }, s.description);
  const el = h(
    bare ? 'div' : 'fieldset',
    { class: bare ? 'schema-object' : 'schema-object field', 'data-path': part.pattern || '/' },
    bare ? null : legend,
    hint,
    own.error,
    children.map(([, c]) => c.el),
  );
  return {
    el,
    value: () => {
      /** @type {Record<string, unknown>} */
      const out = {};
      for (const [key, c] of children) {
        const v = c.value();
        if (v !== undefined) out[key] = v;
      }
      const constantsOnly = Object.keys(out).every((k) => {
        const ps = props.find(([p]) => p === k)?.[1];
        return isSchema(ps) && 'const' in ps;
      });
      return constantsOnly && !part.required ? undefined : out;
    },
    showError: (segments, message) => {
      const [first, ...rest] = segments;
      const child = children.find(([k]) => k === first)?.[1];
      const shown = child?.showError(rest, message);
      return shown ?? own.show(message, legend);
    },
    clearErrors: () => {
      render(own.error);
      for (const [, c] of children) c.clearErrors();
    },
  };
}

/** Checkboxes for an array of enum values (hazard types): each value once. */
/** @param {Part} part @param {string[]} values @param {(v: string) => string} [text] @returns {Control} */
export function checkboxesControl(part, values, text = valueLabel) {
  const id = part.form.next();
  const boxes = values.map((v, i) =>
    h('input', { type: 'checkbox', value: v, id: `${id}-${i}`, name: part.pattern }),
  );
  const own = ownError(id);
  const legend = h('legend', { tabindex: '-1' }, requiredMark(part.label, part.required));
  const el = h(
    'fieldset',
    { class: 'field choices', 'data-path': part.pattern, id },
    legend,
    typeof part.schema.description === 'string'
      ? h('p', { class: 'hint' }, part.schema.description)
      : null,
    boxes.map((b, i) =>
      h('label', { class: 'choice', for: `${id}-${i}` }, b, ` ${text(values[i] ?? '')}`),
    ),
    own.error,
  );
  return {
    el,
    value: () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      return chosen.length || part.required ? chosen : undefined;
    },
    showError: (segments, message) => {
      const box = boxes[Number(segments[0])];
      box?.setAttribute('aria-invalid', 'true');
      return own.show(message, box ?? boxes[0] ?? legend);
    },
    clearErrors: () => {
      render(own.error);
      for (const b of boxes) b.removeAttribute('aria-invalid');
    },
  };
}

/** Rows of an array, each its items' control, with buttons to add and remove rows. */
/** @param {Part} part @param {Schema} items @returns {Control} */
function rowsControl(part, items) {
  const id = part.form.next();
  const list = h('ol', { class: 'schema-rows' });
  // The rows' name: the catalog's for a known list (`records:row.turning_points`), else made from
  // the list's label ("Turning points" → "Turning point").
  const name = part.pattern.slice(part.pattern.lastIndexOf('/') + 1);
  const rowLabel = t(`records:row.${name}.title`, { defaultValue: singular(part.label) });
  /** @param {number} n */
  const rowTitle = (n) => t('records:rows.title', { row: rowLabel, n: formatNumber(n) });
  /** @param {number} n */
  const removeText = (n) =>
    t(`records:row.${name}.remove`, {
      n: formatNumber(n),
      defaultValue: t('records:rows.remove', { row: lower(rowLabel), n: formatNumber(n) }),
    });
  /** @type {{ li: HTMLElement; control: Control }[]} */
  const rows = [];
  /** The rows the last value came from, in order: a refusal's index names one of them. */
  /** @type {Control[]} */
  let sent = [];
  const own = ownError(id);
  const legend = h('legend', { tabindex: '-1' }, requiredMark(part.label, part.required));
  const renumber = () =>
    rows.forEach((r, i) => {
      const title = r.li.querySelector(':scope > .row-title');
      if (title) title.textContent = rowTitle(i + 1);
    });
  const add = () => {
    const control = build({
      schema: items,
      label: rowTitle(rows.length + 1),
      required: true,
      pattern: `${part.pattern}/*`,
      form: part.form,
    });
    const objectRow = control.el?.tagName === 'FIELDSET';
    const li = h(
      'li',
      { class: 'schema-row' },
      objectRow
        ? null
        : h('span', { class: 'row-title visually-hidden' }, rowTitle(rows.length + 1)),
      control.el,
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          onclick: () => {
            const at = rows.findIndex((r) => r.li === li);
            rows.splice(at, 1);
            li.remove();
            renumber();
            addButton.focus();
          },
        },
        removeText(rows.length + 1),
      ),
    );
    rows.push({ li, control });
    list.append(li);
    return control;
  };
  const addButton = h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      onclick: () => {
        const c = add();
        const first = c.el?.querySelector('input, select, textarea');
        if (
          first instanceof HTMLInputElement ||
          first instanceof HTMLSelectElement ||
          first instanceof HTMLTextAreaElement
        )
          first.focus();
      },
    },
    t(`records:row.${name}.add`, {
      defaultValue: t('records:rows.add', { row: lower(rowLabel) }),
    }),
  );
  // A list the body must have starts with a row to fill in (records, a required list of items).
  const minItems = typeof part.schema.minItems === 'number' ? part.schema.minItems : 0;
  if (part.required && (minItems > 0 || items.type === 'object')) add();
  const el = h(
    'fieldset',
    { class: 'field schema-array', 'data-path': part.pattern, id },
    legend,
    typeof part.schema.description === 'string'
      ? h('p', { class: 'hint' }, part.schema.description)
      : null,
    own.error,
    list,
    addButton,
  );
  return {
    el,
    value: () => {
      const out = [];
      sent = [];
      for (const r of rows) {
        const v = r.control.value();
        if (v === undefined) continue;
        out.push(v);
        sent.push(r.control);
      }
      return out.length || part.required ? out : undefined;
    },
    showError: (segments, message) => {
      const [first, ...rest] = segments;
      const row = first !== undefined && /^\d+$/.test(first) ? sent[Number(first)] : undefined;
      return row?.showError(rest, message) ?? own.show(message, legend);
    },
    clearErrors: () => {
      render(own.error);
      for (const r of rows) r.control.clearErrors();
    },
  };
}

/** @param {Part} part @returns {Control} */
function arrayControl(part) {
  const items = isSchema(part.schema.items) ? resolve(part.schema.items, part.form.components) : {};
  for (const widget of part.form.arrayWidgets) {
    const made = widget(part, items);
    if (made) return made;
  }
  if (Array.isArray(items.enum)) return checkboxesControl(part, items.enum.map(String));
  if (Array.isArray(part.schema.prefixItems)) return jsonControl(part);
  return rowsControl(part, items);
}

/**
 * A choice between variants told apart by a constant member (`method: "dna"` or `"other"`): a
 * select of the constants, and the chosen variant's form. Without such a member: a JSON box.
 * @param {Part} part
 * @returns {Control}
 */
function unionControl(part) {
  const { components } = part.form;
  const all = variantsOf(part.schema).map((v) => resolve(v, components));
  const nonNull = all.filter((v) => v.type !== 'null');
  if (nonNull.length === 1 && nonNull[0])
    return build({ ...part, schema: { ...nonNull[0], description: part.schema.description } });
  /** @param {Schema} v */
  const propsOf = (v) => (isSchema(v.properties) ? v.properties : {});
  /**
   * The values a variant's member may take when it is a constant or an enum, else undefined.
   * @param {Schema} v
   * @param {string} k
   */
  const tagsOf = (v, k) => {
    const p = propsOf(v)[k];
    if (!isSchema(p)) return undefined;
    if ('const' in p) return [String(p.const)];
    return Array.isArray(p.enum) ? p.enum.map(String) : undefined;
  };
  const first = nonNull[0];
  // The member that tells the variants apart: a constant or an enum in every one.
  const key = first
    ? Object.keys(propsOf(first)).find((k) => nonNull.every((v) => tagsOf(v, k) !== undefined))
    : undefined;
  if (!key) return jsonControl(part);
  const id = part.form.next();
  /** Each value of the member, with the variant it selects (that member fixed to the value). */
  const choices = nonNull.flatMap((v) =>
    (tagsOf(v, key) ?? []).map((tag) => ({
      tag,
      schema: { ...v, properties: { ...propsOf(v), [key]: { const: tag } } },
    })),
  );
  const select = h(
    'select',
    { id, name: `${part.pattern}/${key}` },
    h(
      'option',
      { value: '' },
      part.required ? t('records:select.choose') : t('records:select.notStated'),
    ),
    choices.map((c) => h('option', { value: c.tag }, valueLabel(c.tag))),
  );
  const slot = h('div', { class: 'variant' });
  /** @type {Control | undefined} */
  let active;
  select.addEventListener('change', () => {
    const chosen = choices.find((c) => c.tag === select.value);
    // Chosen: sent, even when the variant has nothing more to fill in.
    active = chosen
      ? objectControl(
          {
            ...part,
            schema: chosen.schema,
            required: true,
            label: t('records:union.variant', {
              label: part.label,
              variant: valueLabel(chosen.tag),
            }),
          },
          true,
        )
      : undefined;
    render(slot, active?.el);
  });
  const frame = fieldFrame(
    {
      ...part,
      label: t('records:union.member', { label: part.label, member: lower(fieldLabel(key)) }),
    },
    id,
    select,
  );
  return {
    el: h('div', { class: 'schema-union', 'data-path': part.pattern }, frame.el, slot),
    value: () => active?.value(),
    showError: (segments, message) => {
      const shown =
        segments.length && segments[0] !== key ? active?.showError(segments, message) : undefined;
      if (shown) return shown;
      frame.error.append(h('span', {}, message), ' ');
      select.setAttribute('aria-invalid', 'true');
      return select;
    },
    clearErrors: () => {
      render(frame.error);
      select.removeAttribute('aria-invalid');
      active?.clearErrors();
    },
  };
}

/** A constant member: nothing to enter, always sent. */
/** @param {Part} part @returns {Control} */
const constControl = (part) => ({
  el: null,
  value: () => part.schema.const,
  showError: () => undefined,
  clearErrors: () => {},
});

/**
 * The control of a part, by its schema (a widget named for its place comes first).
 * @param {Part} part
 * @returns {Control}
 */
function build(part) {
  const widget = part.form.widgets[part.pattern];
  if (widget) return widget(part);
  const s = part.schema;
  if (isGeometry(s, part.form.components)) return geometryControl(part);
  if (variantsOf(s).length) return unionControl(part);
  if (Array.isArray(s.enum)) return enumControl(part);
  if ('const' in s) return constControl(part);
  switch (s.type) {
    case 'object':
      for (const widget of part.form.objectWidgets) {
        const made = widget(part);
        if (made) return made;
      }
      // A map of free keys (z.record) has no members to make fields of.
      if (!isSchema(s.properties) && isSchema(s.additionalProperties)) return jsonControl(part);
      return objectControl(part);
    case 'array':
      return arrayControl(part);
    case 'string':
      return stringControl(part);
    case 'integer':
    case 'number':
      return integerControl(part);
    case 'boolean':
      return booleanControl(part);
    default:
      return jsonControl(part);
  }
}

/**
 * A form for the value of a JSON Schema: the schema's own object at the top (no legend), every
 * member below it generated.
 * @param {{
 *   schema: Schema;
 *   components: Record<string, Schema>;
 *   idPrefix: string;
 *   widgets?: Record<string, (part: Part) => Control>;
 *   arrayWidgets?: ((part: Part, items: Schema) => Control | undefined)[];
 *   objectWidgets?: ((part: Part) => Control | undefined)[];
 * }} opts `widgets`: controls of their own for some places (`/records/N/covers`); `arrayWidgets`:
 *   tried on every array before the generic rows (attachments, by the shape of their items)
 * @returns {Control}
 */
export function schemaForm(opts) {
  let n = 0;
  /** @type {FormContext} */
  const form = {
    components: opts.components,
    idPrefix: opts.idPrefix,
    next: () => `${opts.idPrefix}-${++n}`,
    widgets: opts.widgets ?? {},
    arrayWidgets: opts.arrayWidgets ?? [],
    objectWidgets: opts.objectWidgets ?? [],
  };
  return objectControl(
    { schema: resolve(opts.schema, opts.components), label: '', required: true, pattern: '', form },
    true,
  );
}

/**
 * The segments of an RFC 6901 pointer (`/records/0/covers` → records, 0, covers).
 * @param {string} pointer
 */
export const segmentsOf = (pointer) =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
