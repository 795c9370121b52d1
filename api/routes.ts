// Routes built from their declarations. Each route of the node is declared once, as an operation
// of api/openapi.ts (method, path, roles, body, answers, error codes), and a router mounts it by
// its operation id: the path, the role check and the JSON body check come from the declaration,
// the handler brings only what the route does. The OpenAPI document is rendered from the same
// declarations, so the two cannot drift; and a route that answers an error code its declaration
// does not list is caught where it happens (logged; under test, turned into a 500 that names it).
import {
  Router,
  type ErrorRequestHandler,
  type RequestHandler,
  type Router as ExpressRouter,
} from 'express';
import { AppError } from '../errors.js';
import { requireRole, type Authenticator } from './auth.js';
import { requireJson } from './json-body.js';
import { declaredRoutes, type DeclaredRoute } from './openapi.js';

let declarations: Map<string, DeclaredRoute> | undefined;
/** Every declared route by operation id, computed once. */
export function routeDeclarations(): Map<string, DeclaredRoute> {
  declarations ??= declaredRoutes();
  return declarations;
}

/** Under test an undeclared code fails the call loudly; elsewhere it is logged and answered. */
const STRICT = process.env.VITEST !== undefined;

/** Thrown (under test) when a route answers a code its declaration does not list. */
export class UndeclaredCode extends Error {
  constructor(route: DeclaredRoute, code: string) {
    super(
      `${route.method.toUpperCase()} ${route.path} (${route.id}) answered ${code}, which its declaration in api/openapi.ts does not list`,
    );
  }
}

/** A route-level error handler: lets declared codes through, flags the others. */
function contractCheck(route: DeclaredRoute): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (err instanceof AppError && !route.codes.has(err.code)) {
      // The error handler logs it with the refusal (api/problem.ts).
      res.locals.undeclaredCode = route.id;
      if (STRICT)
        return next(new AppError('internal', new UndeclaredCode(route, err.code).message));
    }
    next(err);
  };
}

export interface RouteOptions {
  /** Before the role check (a refused upload's connection is closed before anything is read). */
  first?: RequestHandler[];
  /** Between the role check and the JSON body check: a body parser of the route's own. */
  parse?: RequestHandler[];
}

/** The route's own handlers: a request handler first, error handlers of its own may follow. */
type Handlers = [RequestHandler, ...(RequestHandler | ErrorRequestHandler)[]];

/**
 * A router whose routes are mounted from their declarations. `prefix` is where the app mounts it
 * ('' for the root): each declared path must lie under it. `auth` checks the declared roles.
 */
export class DeclaredRouter {
  readonly router: ExpressRouter = Router();

  constructor(
    private readonly prefix: string,
    private readonly auth?: Authenticator,
  ) {}

  /** Mounts operation `id` with `handlers` after its declared role and body checks. */
  route(id: string, ...handlers: Handlers): this {
    return this.routeWith(id, {}, ...handlers);
  }

  /** `route`, with handlers of the route's own before the declared checks (`RouteOptions`). */
  routeWith(id: string, options: RouteOptions, ...handlers: Handlers): this {
    const route = routeDeclarations().get(id);
    if (!route) throw new TypeError(`no route is declared with the operation id ${id}`);
    if (!route.path.startsWith(this.prefix))
      throw new TypeError(`${id} (${route.path}) is not under ${this.prefix}`);
    const path =
      route.path.slice(this.prefix.length).replace(/\{(\w+)\}/g, ':$1') || (this.prefix ? '/' : '');
    const checks: RequestHandler[] = [...(options.first ?? [])];
    if (route.roles) {
      if (!this.auth)
        throw new TypeError(`${id} declares roles: its router needs the authenticator`);
      checks.push(requireRole(this.auth, ...route.roles));
    }
    checks.push(...(options.parse ?? []));
    if (route.jsonBody) checks.push(requireJson);
    this.router[route.method](path, ...checks, ...handlers, contractCheck(route));
    return this;
  }
}
