// Admin route that erases one request's personal content (domain/erasure.ts), keeping its
// evidence: `POST /v1/admin/requests/:id/erase`, and `GET` of the same path's erasure record.
import type { Router } from 'express';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { eraseRequest, erasureOf } from '../domain/erasure.js';
import { AppError } from '../errors.js';
import { Ulid } from '../schemas/common.js';
import { principalOf, type Authenticator } from './auth.js';
import { DeclaredRouter } from './routes.js';

export interface ErasureRouterDeps {
  pool: pg.Pool;
  client: Client;
  namespace: string;
  auth: Authenticator;
}

function requestId(raw: unknown): string {
  const id = Ulid.safeParse(raw);
  if (!id.success) throw new AppError('request_not_found', 'no request with that id on this node');
  return id.data;
}

export function erasureRouter(deps: ErasureRouterDeps): Router {
  const declared = new DeclaredRouter('/v1/admin/requests', deps.auth);
  const router = declared.router;

  // Erases, or answers the erasure already made: the same 200 however often it is sent.
  declared.route('eraseRequest', async (req, res) => {
    const id = requestId(req.params.id);
    const view = await eraseRequest(deps, id, {
      trigger: 'admin',
      actor: principalOf(req).sub,
    });
    res.json(view);
  });

  declared.route('getErasure', async (req, res) => {
    const id = requestId(req.params.id);
    const view = await erasureOf(deps.pool, id);
    if (!view) throw new AppError('not_found', 'this request has not been erased');
    res.json(view);
  });

  return router;
}
