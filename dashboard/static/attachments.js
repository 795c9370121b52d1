/* global XMLHttpRequest, crypto */
// Files a record refers to: chosen in the browser, hashed there (SHA-256, the file's id on the
// node), uploaded to `PUT /v1/attachments/sha256:<hex>` with a progress bar (XMLHttpRequest's
// upload progress: fetch has none), the digest shown, and each referenced from the record as its
// schema's attachment entries say ({ref, media_type, file_name, description}). The digest comes
// from @noble/hashes, served by the node under /dashboard/vendor/noble-hashes/ (no CDN), read in
// chunks so a large scan is never held twice; crypto.subtle is the fallback, though it exists only
// in a secure context (https or localhost), which a field laptop on plain http is not.
import { csrf, token } from './api.js';
import { h, render } from './dom.js';
import { formatNumber, t } from './i18n.js';
import { InputProblem } from './record-form.js';

/** @typedef {import('./record-form.js').Control} Control */
/** @typedef {import('./record-form.js').Schema} Schema */

const NOBLE_SHA2 = '/dashboard/vendor/noble-hashes/sha2.js';
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * @typedef {{ sha256: { create: () => { update: (b: Uint8Array) => unknown; digest: () => Uint8Array } } }} Sha2Module
 */
/** @type {Promise<Sha2Module | null> | undefined} */
let noble;
/** The hashing library, loaded once; null when it cannot be (then crypto.subtle). */
function loadNoble() {
  const url = NOBLE_SHA2;
  noble ??= /** @type {Promise<Sha2Module>} */ (import(url)).catch(() => null);
  return noble;
}

/** JSON.parse, said to give `unknown`: callers state what they read. */
const parseJson = /** @type {(text: string) => unknown} */ (JSON.parse);

const hex = (/** @type {Uint8Array} */ bytes) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The SHA-256 of a file as lowercase hex, with progress (0…1) as it is read.
 * @param {File} file
 * @param {(done: number) => void} progress
 * @returns {Promise<{ digest: string; by: string }>}
 */
export async function sha256Of(file, progress) {
  const lib = await loadNoble();
  if (lib) {
    const hash = lib.sha256.create();
    for (let at = 0; at < file.size; at += CHUNK_BYTES) {
      hash.update(new Uint8Array(await file.slice(at, at + CHUNK_BYTES).arrayBuffer()));
      progress(Math.min(1, (at + CHUNK_BYTES) / file.size));
    }
    progress(1);
    return { digest: hex(hash.digest()), by: '@noble/hashes' };
  }
  if (crypto.subtle) {
    const digest = hex(
      new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer())),
    );
    progress(1);
    return { digest, by: 'crypto.subtle' };
  }
  throw new Error(t('records:attachments.noDigest'));
}

/**
 * Uploads a file under its digest, reporting the bytes sent; resolves with the node's answer,
 * rejects with the node's problem document (code, detail) or a network error.
 * @param {File} file
 * @param {string} digest
 * @param {string} mediaType
 * @param {(sent: number, total: number) => void} progress
 * @returns {Promise<{ sha256: string; size: number; media_type: string; created: boolean }>}
 */
export function upload(file, digest, mediaType, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/v1/attachments/sha256:${digest}`);
    xhr.setRequestHeader('content-type', mediaType);
    xhr.setRequestHeader('accept', 'application/json');
    const bearer = token.get();
    const csrfToken = csrf.get();
    if (bearer) xhr.setRequestHeader('authorization', `Bearer ${bearer}`);
    else if (csrfToken) xhr.setRequestHeader('x-csrf-token', csrfToken);
    xhr.withCredentials = true;
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      /** @type {{ code?: string; detail?: string; sha256?: string; size?: number; media_type?: string }} */
      let body = {};
      try {
        body = /** @type {typeof body} */ (parseJson(xhr.responseText));
      } catch {
        // not JSON: said by the status
      }
      if (xhr.status === 200 || xhr.status === 201)
        resolve({
          sha256: body.sha256 ?? digest,
          size: body.size ?? file.size,
          media_type: body.media_type ?? mediaType,
          created: xhr.status === 201,
        });
      else
        reject(
          new Error(
            body.detail
              ? t('records:attachments.refusedDetail', {
                  code: body.code ?? xhr.status,
                  detail: body.detail,
                })
              : t('records:attachments.refused', { code: body.code ?? xhr.status }),
          ),
        );
    });
    xhr.addEventListener('error', () => reject(new Error(t('records:attachments.unreachable'))));
    xhr.send(file);
  });
}

/** One decimal, no grouping (as the sizes have always been written: "1023.5 kB"). */
const ONE_DECIMAL = { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false };
/** Bytes in words: "1.2 MB". */
const size = (/** @type {number} */ n) =>
  n < 1024
    ? t('records:size.bytes', { size: formatNumber(n, { useGrouping: false }) })
    : n < 1024 * 1024
      ? t('records:size.kilobytes', { size: formatNumber(n / 1024, ONE_DECIMAL) })
      : t('records:size.megabytes', { size: formatNumber(n / 1024 / 1024, ONE_DECIMAL) });

/**
 * Whether an array's items are attachment references: an object with a `ref` of the form
 * `sha256:<hex>` and a media type (schemas/domain/shared.ts AttachmentRef).
 * @param {Schema} items
 */
export function isAttachmentList(items) {
  const props = /** @type {Record<string, Schema>} */ (
    typeof items.properties === 'object' && items.properties !== null ? items.properties : {}
  );
  return (
    typeof props.ref?.pattern === 'string' &&
    props.ref.pattern.startsWith('^sha256:') &&
    props.media_type !== undefined
  );
}

/**
 * The control of a record's attachments: a file picker; per file its name, type and size, a
 * progress bar (hashing, then uploading), its digest once known, an optional description, and a
 * button to take it out again.
 * @param {import('./record-form.js').Part} part
 * @param {Schema} items the attachment entry's schema
 * @param {boolean} [single] one file, the value an entry (a report's attachment), not a list
 * @returns {Control}
 */
export function attachmentsControl(part, items, single = false) {
  const id = part.form.next();
  const props = /** @type {Record<string, unknown>} */ (items.properties ?? {});
  const hasDescription = 'description' in props;
  const picker = h('input', {
    type: 'file',
    id,
    multiple: !single,
    'aria-describedby': `${id}-hint`,
  });
  const list = h('ul', { class: 'attachment-list' });
  const error = h('p', { class: 'field-error', id: `${id}-error` });
  /**
   * @type {{
   *   li: HTMLElement;
   *   state: 'hashing' | 'uploading' | 'done' | 'failed';
   *   entry?: { ref: string; media_type: string; file_name: string };
   *   description?: HTMLInputElement;
   *   error: HTMLElement;
   * }[]}
   */
  const files = [];
  /** @type {typeof files} */
  let sent = [];

  /** @param {File} file */
  const add = async (file) => {
    const mediaType = file.type || 'application/octet-stream';
    const bar = h('progress', {
      max: 1,
      value: 0,
      'aria-label': t('records:attachments.progress', { file: file.name }),
    });
    const status = h(
      'span',
      { class: 'attachment-status', role: 'status' },
      t('records:attachments.hashing'),
    );
    const digestText = h('code', { class: 'attachment-digest' });
    const fileError = h('p', { class: 'field-error' });
    const n = files.length + 1;
    const description = hasDescription
      ? h('input', {
          type: 'text',
          id: `${id}-d${n}`,
          'aria-label': t('records:attachments.descriptionOf', { file: file.name }),
        })
      : undefined;
    const li = h(
      'li',
      { class: 'attachment', 'data-file': file.name },
      h('strong', {}, file.name),
      ` ${t('records:attachments.facts', { mediaType, size: size(file.size) })} `,
      bar,
      ' ',
      status,
      h('div', {}, `${t('records:attachments.digest')} `, digestText),
      description
        ? h('label', { for: `${id}-d${n}` }, `${t('records:attachments.description')} `)
        : null,
      description ?? null,
      fileError,
    );
    /** @type {(typeof files)[number]} */
    const entry = { li, state: 'hashing', description, error: fileError };
    li.append(
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          onclick: () => {
            files.splice(files.indexOf(entry), 1);
            li.remove();
            picker.focus();
          },
        },
        t('records:attachments.remove', { file: file.name }),
      ),
    );
    files.push(entry);
    list.append(li);
    try {
      const { digest, by } = await sha256Of(file, (done) => {
        bar.value = done;
      });
      render(digestText, digest);
      li.dataset.hashedBy = by;
      entry.state = 'uploading';
      bar.value = 0;
      render(status, t('records:attachments.uploading'));
      const stored = await upload(file, digest, mediaType, (done, total) => {
        bar.max = total;
        bar.value = done;
      });
      bar.max = 1;
      bar.value = 1;
      entry.state = 'done';
      entry.entry = {
        ref: `sha256:${stored.sha256}`,
        media_type: stored.media_type,
        file_name: file.name,
      };
      li.dataset.digest = stored.sha256;
      render(
        status,
        stored.created ? t('records:attachments.uploaded') : t('records:attachments.alreadyThere'),
      );
    } catch (err) {
      entry.state = 'failed';
      render(status, t('records:attachments.notUploaded'));
      render(fileError, err instanceof Error ? err.message : String(err));
    }
  };

  picker.addEventListener('change', () => {
    // One file only: a new choice replaces the one before.
    if (single) for (const f of files.splice(0)) f.li.remove();
    for (const file of Array.from(picker.files ?? [])) void add(file);
    picker.value = '';
  });

  return {
    el: h(
      'fieldset',
      { class: 'field attachments', 'data-path': part.pattern },
      h('legend', {}, part.label),
      h('p', { class: 'hint', id: `${id}-hint` }, t('records:attachments.hint')),
      h('label', { for: id }, t('records:attachments.add')),
      ' ',
      picker,
      list,
      error,
    ),
    value: () => {
      const waiting = files.find((f) => f.state === 'hashing' || f.state === 'uploading');
      if (waiting) throw new InputProblem(picker, t('records:attachments.waiting'));
      const failed = files.find((f) => f.state === 'failed');
      if (failed) {
        render(error, t('records:attachments.failed'));
        throw new InputProblem(picker, t('records:attachments.failedProblem'));
      }
      sent = files.filter((f) => f.entry);
      const entries = sent.map((f) => {
        const text = f.description?.value.trim();
        return { ...f.entry, ...(text ? { description: text } : {}) };
      });
      if (single) return entries[0];
      if (!sent.length) return part.required ? [] : undefined;
      return entries;
    },
    showError: (segments, message) => {
      const f = single
        ? sent[0]
        : segments[0] !== undefined
          ? sent[Number(segments[0])]
          : undefined;
      if (f) {
        f.error.append(h('span', {}, message), ' ');
        return f.description ?? picker;
      }
      error.append(h('span', {}, message), ' ');
      return picker;
    },
    clearErrors: () => {
      render(error);
      for (const f of files) if (f.state !== 'failed') render(f.error);
    },
  };
}
