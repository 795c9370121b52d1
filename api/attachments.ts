// Attachment routes: officers upload files by their SHA-256 and officers or supervisors fetch those
// a stored message names, when the access policy lets them see that request's content (each
// download read-audited); partner nodes upload the attachments of their messages, authenticated by
// a token signed with their registered message key.
import type { Router } from 'express';
import { type Request, type RequestHandler, type Response } from 'express';
import {
  attachmentKnownTo,
  getAttachment,
  partnerAuthor,
  type AttachmentMeta,
} from '../db/attachments.js';
import { AppError } from '../errors.js';
import {
  checkUploadHeaders,
  mediaTypeOf,
  parseAttachmentId,
  readHashed,
  sealedUploadMax,
  SEALED_UPLOAD_MEDIA_TYPE,
  receiveUpload,
  type AttachmentLimits,
} from '../exchange/attachments.js';
import type { InboxDeps } from '../exchange/inbox.js';
import { checkRelayedUpload, claimedTokenAudience, relayAttachment } from '../exchange/mediator.js';
import { partyOwnInbox } from '../db/registry.js';
import { ATTACHMENT_TOKEN_HEADER, verifyAttachmentToken } from '../protocol/attachment-token.js';
import { principalOf, type Authenticator } from './auth.js';
import { recordReads } from './access-log.js';
import { requestsNamingAttachment } from '../db/access-log.js';
import { mayReadAttachment } from '../domain/access-policy.js';
import { DeclaredRouter } from './routes.js';

export interface AttachmentsRouterDeps {
  inbox: InboxDeps;
  auth: Authenticator;
  limits: AttachmentLimits;
}

const view = (m: AttachmentMeta) => ({
  sha256: m.sha256,
  size: m.size,
  media_type: m.media_type,
  created_at: m.created_at.toISOString(),
});

/**
 * Upload routes answer a refusal with `Connection: close`: the connection ends once the problem is
 * sent, so an unwanted body is never read to its end. Success keeps the connection.
 */
const closeOnRefusal: RequestHandler = (_req, res, next) => {
  res.set('connection', 'close');
  next();
};
const keepConnection = (res: Response) => res.removeHeader('connection');

export function attachmentsRouter(deps: AttachmentsRouterDeps): Router {
  const declared = new DeclaredRouter('', deps.auth);
  const router = declared.router;
  const { pool } = deps.inbox;
  const store = { pool, sink: deps.inbox.sink, log: deps.inbox.log };
  const id = (req: Request) => parseAttachmentId(String(req.params.id));

  declared.routeWith('uploadAttachment', { first: [closeOnRefusal] }, async (req, res) => {
    const sha256 = id(req);
    const mediaType = checkUploadHeaders(req, deps.limits);
    const stored = await receiveUpload(store, req, deps.limits, {
      sha256,
      mediaType,
      createdBy: principalOf(req).sub,
    });
    keepConnection(res);
    if (stored.created) res.status(201).location(`/v1/attachments/sha256:${sha256}`);
    res.json(view(stored.meta));
  });

  declared.route('getAttachment', async (req, res) => {
    const sha256 = id(req);
    // Only what a stored message names: an upload no message refers to stays with its uploader.
    const requests = await requestsNamingAttachment(pool, sha256);
    const found = requests.length > 0 ? await getAttachment(pool, sha256) : undefined;
    if (!found)
      throw new AppError(
        'unknown_attachment',
        'no stored attachment with this digest is named by a stored message',
      );
    // As sensitive as the most sensitive request that names it (domain/access-policy.ts).
    if (
      !mayReadAttachment(
        principalOf(req).roles,
        requests.map((r) => r.type),
      )
    )
      throw new AppError('forbidden', 'your roles may not see the files of this request');
    await recordReads(
      pool,
      req,
      'GET /v1/attachments/:id',
      requests.map((r) => ({ reqId: r.reqId, parts: ['attachment'], ref: sha256 })),
    );
    res
      .status(200)
      .set({
        'content-type': found.media_type,
        'content-length': String(found.content.length),
        'content-disposition': 'attachment',
        'x-content-type-options': 'nosniff',
        'cache-control': 'private, no-store',
        etag: `"sha256:${sha256}"`,
        'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
      })
      .end(found.content);
  });

  // Partner nodes: the token is the credential; HEAD says whether the upload is needed.
  const partnerToken = async (req: Request, sha256: string) => {
    const verified = await verifyAttachmentToken(req.get(ATTACHMENT_TOKEN_HEADER), {
      registry: deps.inbox.registry,
      self: deps.inbox.partyId,
      now: new Date(),
    });
    if (verified.claims.sha256 !== sha256)
      throw new AppError('digest_mismatch', 'the token names another attachment than the URL');
    return verified;
  };

  /**
   * On a mediator, an upload addressed to a party it relays for is passed on (README, _Mediated
   * exchange_). Returns whether it was.
   */
  const relayed = async (req: Request, res: Response, method: 'HEAD' | 'PUT') => {
    const token = req.get(ATTACHMENT_TOKEN_HEADER);
    const aud = claimedTokenAudience(token);
    if (!token || !aud || aud === deps.inbox.partyId) return false;
    if (!(await partyOwnInbox(pool, aud))?.relays) return false;
    // The token first: nothing of the body is read for an upload nobody signed.
    const checked = await checkRelayedUpload(deps.inbox, token, id(req));
    let body: Buffer | undefined;
    if (method === 'PUT') {
      // At most what the token's file can take sealed, and never more than this node takes.
      const max = sealedUploadMax(Math.min(checked.claims.size, deps.limits.maxBytes));
      const declared = Number(req.headers['content-length'] ?? NaN);
      const tooLarge = new AppError(
        'too_large',
        `this upload may be at most ${max} bytes (the file the token names, sealed)`,
      );
      if (Number.isFinite(declared) && declared > max) throw tooLarge;
      const read = await readHashed(req, max);
      if (read === 'too_large') throw tooLarge;
      body = read.content;
    }
    const answer = await relayAttachment(deps.inbox, checked, {
      method,
      token,
      contentType: req.get('content-type'),
      ...(body ? { body } : {}),
    });
    if (answer.status < 400) keepConnection(res);
    if (answer.contentType) res.type(answer.contentType);
    res.status(answer.status).end(answer.body);
    return true;
  };

  declared.route('partnerHasAttachment', async (req, res) => {
    if (await relayed(req, res, 'HEAD')) return;
    const sha256 = id(req);
    const { claims } = await partnerToken(req, sha256);
    res.status((await attachmentKnownTo(pool, sha256, claims.iss)) ? 200 : 404).end();
  });

  declared.routeWith('partnerUploadAttachment', { first: [closeOnRefusal] }, async (req, res) => {
    if (await relayed(req, res, 'PUT')) return;
    const sha256 = id(req);
    const { claims, key } = await partnerToken(req, sha256);
    // Sealed to this node (application/jose): checked by the media type the token signs.
    const sealed = mediaTypeOf(req.headers['content-type']) === SEALED_UPLOAD_MEDIA_TYPE;
    if (!sealed && key.partySeals)
      throw new AppError(
        'not_sealed',
        `${claims.iss} seals its content: its files come sealed to this node (${SEALED_UPLOAD_MEDIA_TYPE})`,
      );
    const mediaType = checkUploadHeaders(req, deps.limits, sealed ? claims.media_type : undefined);
    if (claims.size > deps.limits.maxBytes)
      throw new AppError('too_large', `attachments may be at most ${deps.limits.maxBytes} bytes`);
    if (claims.media_type !== mediaType) {
      throw new AppError('schema_invalid', 'the Content-Type is not the one the token signs', [
        { path: '/media_type', message: `the token signs ${claims.media_type}` },
      ]);
    }
    const stored = await receiveUpload(store, req, deps.limits, {
      sha256,
      mediaType,
      createdBy: partnerAuthor(claims.iss),
      expectedSize: claims.size,
      ...(sealed ? { sealedTo: deps.inbox.keyring.decryptionKeys } : {}),
    });
    keepConnection(res);
    res.status(stored.created ? 201 : 200).json(view(stored.meta));
  });

  return router;
}
