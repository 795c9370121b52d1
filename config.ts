// Node configuration: the environment, parsed once by one zod schema into a frozen object.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { PartyId } from './schemas/common.js';
import {
  buildKeyRing,
  generatedKeyFile,
  parseKeyList,
  readCodecKeyFile,
  type CodecKeyRing,
} from './temporal/codec-keys.js';

const blankIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(blankIsUnset, z.string().optional());
const port = (fallback: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().min(0).max(65535).default(fallback));
const bool = (fallback: boolean) =>
  z.preprocess(
    blankIsUnset,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );
const postgresUrl = z.preprocess(
  blankIsUnset,
  z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// connection URL')
    .optional(),
);

/** `kid1:base64,kid0:base64`, newest first: checked into a key ring, problems named, keys never echoed. */
const codecKeyList = z.string().transform((text, ctx): CodecKeyRing => {
  const listed = parseKeyList(text);
  const built = buildKeyRing(listed.entries);
  const problems = listed.problems.length ? listed.problems : built.ok ? [] : built.problems;
  if (!built.ok || problems.length > 0) {
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
  return built.ring;
});

/** A comma-separated list of web origins (`scheme://host[:port]`, no path). */
const originList = z.string().transform((text, ctx): string[] => {
  const origins: string[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    let url: URL | undefined;
    try {
      url = new URL(part);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== '/' || url.search || url.hash) {
      ctx.addIssue({
        code: 'custom',
        message: 'a comma-separated list of origins, e.g. http://localhost:8233 (no path)',
      });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

/** Largest attachment unless ATTACHMENT_MAX_BYTES says otherwise: 25 MiB. */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024;
/** Media types an attachment may have unless ATTACHMENT_MEDIA_TYPES says otherwise. */
export const DEFAULT_ATTACHMENT_MEDIA_TYPES = [
  'application/pdf',
  'image/jpeg',
  'image/png',
  'image/tiff',
  'application/geo+json',
  'text/plain',
  'text/csv',
];

/** Every environment variable a node reads. README.md documents each one. */
export const Env = z.object({
  PARTY_ID: z
    .preprocess(blankIsUnset, PartyId.optional())
    .pipe(z.string({ message: 'required: the party id of this node, e.g. party-a' })),
  PORT: port(3000),
  HOST: z.preprocess(blankIsUnset, z.string().default('127.0.0.1')),
  PUBLIC_URL: z.preprocess(blankIsUnset, z.url({ message: 'expected an absolute URL' }).optional()),
  PARLEY_DATA_DIR: z.preprocess(blankIsUnset, z.string().default('.data')),
  PARLEY_KEYS_DIR: optionalString,
  PARLEY_POLICY_FILE: optionalString,
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_SIZE: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(1).max(100).default(10),
  ),
  TEMPORAL_ADDRESS: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. temporal.example.org:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: optionalString,
  TEMPORAL_TASK_QUEUE: z.preprocess(blankIsUnset, z.string().default('parley')),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: z.preprocess(blankIsUnset, z.enum(['true', 'false']).optional()),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_UI_URL: z.preprocess(
    blankIsUnset,
    z.url({ message: 'expected an absolute URL' }).optional(),
  ),
  TEMPORAL_DEV_PORT: port(7233),
  MAP_TILE_URL: z.preprocess(
    blankIsUnset,
    z.url({ message: 'expected an absolute URL with {z}, {x} and {y}' }).optional(),
  ),
  TEMPORAL_DEV_UI_PORT: port(8233),
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_CODEC_KEYS: z.preprocess(blankIsUnset, codecKeyList.optional()),
  TEMPORAL_CODEC_KEY_FILE: optionalString,
  TEMPORAL_CODEC_CORS_ORIGIN: z.preprocess(blankIsUnset, originList.optional()),
  AUTH_JWKS_FILE: optionalString,
  AUTH_JWKS_URL: z.preprocess(
    blankIsUnset,
    z.url({ message: 'expected an absolute URL' }).optional(),
  ),
  AUTH_ISSUER: z.preprocess(blankIsUnset, z.string().default('parley-dev-issuer')),
  AUTH_AUDIENCE: z.preprocess(blankIsUnset, z.string().default('parley')),
  AUTH_ROLES_CLAIM: z.preprocess(blankIsUnset, z.string().default('roles')),
  AUTH_DEV_ISSUER: bool(true),
  AUTH_OIDC_ISSUER: z.preprocess(
    blankIsUnset,
    z
      .url({
        protocol: /^https?$/,
        message: 'expected the issuer URL, e.g. https://id.example.org/realms/parley',
      })
      .optional(),
  ),
  AUTH_OIDC_CLIENT_ID: optionalString,
  AUTH_OIDC_CLIENT_SECRET: optionalString,
  AUTH_OIDC_SCOPES: z.preprocess(blankIsUnset, z.string().default('openid profile')),
  AUTH_SESSION_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(8 * 3600),
  ),
  RETENTION_SWEEP_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(0).max(86_400).default(3_600),
  ),
  MEDIATOR_WATCH_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(0).max(3_600).default(15),
  ),
  MEDIATOR_REMINDER_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(0).max(604_800).default(3_600),
  ),
  RELAY_PROOFS_PER_MINUTE: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(1).max(100_000).default(60),
  ),
  DELIVERY_MAX_BACKOFF_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(1).max(86_400).default(300),
  ),
  WORKFLOW_HISTORY_LIMIT: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(50).max(50_000).default(5_000),
  ),
  REQUEST_UPDATE_TIMEOUT_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(1).max(300).default(10),
  ),
  KEY_REGISTRY_CACHE_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(0).max(300).default(5),
  ),
  ATTACHMENT_MAX_BYTES: z.preprocess(
    blankIsUnset,
    z.coerce
      .number()
      .int()
      .min(1)
      .max(2 ** 30)
      .default(DEFAULT_ATTACHMENT_MAX_BYTES),
  ),
  ATTACHMENT_MEDIA_TYPES: z.preprocess(
    blankIsUnset,
    z
      .string()
      .default(DEFAULT_ATTACHMENT_MEDIA_TYPES.join(','))
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(
            z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'a comma-separated list of media types'),
          )
          .min(1),
      ),
  ),
  METRICS_TOKEN: z.preprocess(
    blankIsUnset,
    z.string().min(16, 'at least 16 characters, or unset for an open /metrics').optional(),
  ),
  TEMPORAL_METRICS_ADDRESS: z.preprocess(
    blankIsUnset,
    z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
      .optional(),
  ),
  NOTIFY_WEBHOOK_URLS: z.preprocess(
    blankIsUnset,
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.url({
            protocol: /^https?$/,
            message: 'a comma-separated list of http:// or https:// URLs',
          }),
        ),
      ),
  ),
  NOTIFY_WEBHOOK_SECRET: z.preprocess(
    blankIsUnset,
    z.string().min(16, 'at least 16 characters').optional(),
  ),
  AUDIT_CHECKPOINT_ENTRIES: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(1).max(10_000_000).default(1000),
  ),
  AUDIT_CHECKPOINT_SECONDS: z.preprocess(
    blankIsUnset,
    z.coerce.number().min(0.2).max(86_400).default(60),
  ),
  AUDIT_INTEGRATE_MS: z.preprocess(
    blankIsUnset,
    z.coerce.number().int().min(10).max(60_000).default(200),
  ),
  LOG_LEVEL: z.preprocess(
    blankIsUnset,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});
export type Env = z.infer<typeof Env>;

export type DatabaseConfig =
  { kind: 'postgres'; url: string; poolSize: number } | { kind: 'pglite'; dir: string };

export interface TlsConfig {
  certPath: string | undefined;
  keyPath: string | undefined;
  caPath: string | undefined;
  serverName: string | undefined;
}

export type TemporalConfig = {
  namespace: string;
  taskQueue: string;
} & (
  | { kind: 'embedded'; port: number; uiPort: number; cliPath: string | undefined; dbFile: string }
  | {
      kind: 'external';
      address: string;
      apiKey: string | undefined;
      tls: TlsConfig | undefined;
      uiUrl: string | undefined;
    }
);

export type AuthConfig = {
  issuer: string;
  audience: string;
  rolesClaim: string;
} & ({ jwks: 'file'; file: string; createDevIssuer: boolean } | { jwks: 'url'; url: string });

/**
 * Browser sign-in (api/session.ts): an external OpenID provider, the development provider the node
 * runs itself under `/oidc` (node/dev-oidc.ts), or none (bearer tokens only); and how long a
 * session lasts.
 */
export type SignInConfig = {
  sessionSeconds: number;
  scopes: string;
} & (
  | { kind: 'external'; issuer: string; clientId: string; clientSecret: string | undefined }
  | { kind: 'embedded' }
  | { kind: 'none' }
);

/**
 * Where the payload codec's keys come from: TEMPORAL_CODEC_KEYS, TEMPORAL_CODEC_KEY_FILE (both read
 * here, so a bad key stops start-up as a configuration error), or a file in the data folder that
 * the node creates with one new key on its first start.
 */
export type CodecKeysConfig =
  | { source: 'env'; ring: CodecKeyRing }
  | { source: 'file'; file: string; ring: CodecKeyRing }
  | { source: 'generated'; file: string };

export interface Config {
  partyId: string;
  http: { host: string; port: number; publicUrl: string | undefined };
  dataDir: string;
  /** This node's own signing keys (private JWK files, mode 0600). */
  keysDir: string;
  /** The deadline policy both parties agreed (JSON). */
  policyFile: string;
  database: DatabaseConfig;
  temporal: TemporalConfig;
  /**
   * Temporal payload encryption: the codec's keys, and the web origins (the Temporal UI's) that may
   * call the node's codec endpoint from a browser.
   */
  codec: { keys: CodecKeysConfig; corsOrigins: readonly string[] };
  auth: AuthConfig;
  signIn: SignInConfig;
  /** Base map tiles for the dashboard's map (`{z}/{x}/{y}` template); none: a graticule only. */
  mapTileUrl: string | undefined;
  /** Seconds between two passes of the retention sweep (0: no sweep; node/retention-sweep.ts). */
  retentionSweepSeconds: number;
  /** Seconds between a mediator's looks at the requests it relays (0: none). */
  mediatorWatchSeconds: number;
  /** Asks for a mediator's relay proofs one address may make a minute (and at once). */
  relayProofsPerMinute: number;
  /** On a mediator: least time between two reminders of one deadline to one party (0: none). */
  mediatorReminderSeconds: number;
  /** Longest wait between two delivery attempts to an unreachable partner. */
  deliveryMaxBackoffSeconds: number;
  /** Longest an officer's call waits for its workflow to confirm, before `503 update_timeout`. */
  updateTimeoutSeconds: number;
  /** History events after which a request workflow continues as new. */
  workflowHistoryLimit: number;
  /**
   * How long a partner key looked up for verification is kept (0: looked up every time). Changes
   * made through this process count at once, those made by another replica after at most this.
   */
  keyRegistryCacheSeconds: number;
  /** Largest attachment accepted, in bytes, and the media types attachments may have. */
  attachments: { maxBytes: number; mediaTypes: readonly string[] };
  /**
   * A checkpoint of the audit log every so many entries, or seconds, whichever comes first; staged
   * entries integrated into the log every `integrateMs` milliseconds (audit/integrator.ts).
   */
  audit: { checkpointEntries: number; checkpointSeconds: number; integrateMs: number };
  /**
   * `/metrics`: the bearer token it asks for (open when unset), and where the Temporal SDK's own
   * Prometheus exporter listens (its metrics are appended to `/metrics`).
   */
  metrics: { token: string | undefined; temporalAddress: string | undefined };
  /** Webhooks every supervisor notification is POSTed to, and the key that signs each POST. */
  notifications: { webhookUrls: readonly string[]; webhookSecret: string | undefined };
  logLevel: Env['LOG_LEVEL'];
}

/** Where the development token issuer keeps its keys, inside the data folder. */
export function devIssuerPaths(dataDir: string): { privateJwk: string; jwks: string } {
  return {
    privateJwk: path.join(dataDir, 'auth', 'dev-issuer.private.jwk.json'),
    jwks: path.join(dataDir, 'auth', 'dev-issuer.jwks.json'),
  };
}

/**
 * Parses the environment into a frozen Config. Throws ConfigError naming every bad variable
 * and what it expects; never echoes a value, since some variables are secrets.
 */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        path: i.path.join('.') || '(environment)',
        message: i.message,
      })),
    );
  }
  const env = parsed.data;
  const problems: { path: string; message: string }[] = [];
  if (env.AUTH_JWKS_FILE && env.AUTH_JWKS_URL) {
    problems.push({
      path: 'AUTH_JWKS_URL',
      message: 'set either AUTH_JWKS_FILE or AUTH_JWKS_URL, not both',
    });
  }
  if (env.AUTH_OIDC_ISSUER && !env.AUTH_OIDC_CLIENT_ID) {
    problems.push({
      path: 'AUTH_OIDC_CLIENT_ID',
      message: 'required with AUTH_OIDC_ISSUER: the client id this node has at the issuer',
    });
  }
  if (Boolean(env.TEMPORAL_TLS_CERT_PATH) !== Boolean(env.TEMPORAL_TLS_KEY_PATH)) {
    problems.push({
      path: 'TEMPORAL_TLS_KEY_PATH',
      message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together (mutual TLS)',
    });
  }
  if (!env.TEMPORAL_ADDRESS && (env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_CERT_PATH)) {
    problems.push({
      path: 'TEMPORAL_ADDRESS',
      message:
        'required when TLS or an API key is configured (they only apply to an external Temporal service)',
    });
  }
  if (env.TEMPORAL_CODEC_KEYS && env.TEMPORAL_CODEC_KEY_FILE) {
    problems.push({
      path: 'TEMPORAL_CODEC_KEY_FILE',
      message: 'set either TEMPORAL_CODEC_KEYS or TEMPORAL_CODEC_KEY_FILE, not both',
    });
  }
  let codecKeys: CodecKeysConfig | undefined;
  if (env.TEMPORAL_CODEC_KEYS) codecKeys = { source: 'env', ring: env.TEMPORAL_CODEC_KEYS };
  else if (env.TEMPORAL_CODEC_KEY_FILE) {
    const file = path.resolve(env.TEMPORAL_CODEC_KEY_FILE);
    try {
      codecKeys = { source: 'file', file, ring: readCodecKeyFile(file) };
    } catch (err) {
      problems.push({ path: 'TEMPORAL_CODEC_KEY_FILE', message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = path.resolve(env.PARLEY_DATA_DIR);
  const namespace = env.TEMPORAL_NAMESPACE ?? `parley-${env.PARTY_ID}`;
  const tlsWanted =
    env.TEMPORAL_TLS === 'true' ||
    (env.TEMPORAL_TLS !== 'false' && Boolean(env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_CERT_PATH));

  const temporal: TemporalConfig = env.TEMPORAL_ADDRESS
    ? {
        kind: 'external',
        namespace,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        address: env.TEMPORAL_ADDRESS,
        apiKey: env.TEMPORAL_API_KEY,
        tls: tlsWanted
          ? {
              certPath: env.TEMPORAL_TLS_CERT_PATH,
              keyPath: env.TEMPORAL_TLS_KEY_PATH,
              caPath: env.TEMPORAL_TLS_CA_PATH,
              serverName: env.TEMPORAL_TLS_SERVER_NAME,
            }
          : undefined,
        uiUrl: env.TEMPORAL_UI_URL,
      }
    : {
        kind: 'embedded',
        namespace,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        port: env.TEMPORAL_DEV_PORT,
        uiPort: env.TEMPORAL_DEV_UI_PORT,
        cliPath: env.TEMPORAL_CLI_PATH,
        dbFile: path.join(dataDir, 'temporal.sqlite'),
      };

  // The browser origin of the Temporal UI: the embedded dev server's (under both names of the
  // loopback host), or that of TEMPORAL_UI_URL.
  const uiOrigins =
    temporal.kind === 'embedded'
      ? temporal.uiPort
        ? [`http://localhost:${temporal.uiPort}`, `http://127.0.0.1:${temporal.uiPort}`]
        : []
      : temporal.uiUrl
        ? [new URL(temporal.uiUrl).origin]
        : [];
  const codec = {
    keys: codecKeys ?? { source: 'generated' as const, file: generatedKeyFile(dataDir) },
    corsOrigins: env.TEMPORAL_CODEC_CORS_ORIGIN ?? uiOrigins,
  };

  const authBase = {
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    rolesClaim: env.AUTH_ROLES_CLAIM,
  };
  const auth: AuthConfig = env.AUTH_JWKS_URL
    ? { ...authBase, jwks: 'url', url: env.AUTH_JWKS_URL }
    : env.AUTH_JWKS_FILE
      ? {
          ...authBase,
          jwks: 'file',
          file: path.resolve(env.AUTH_JWKS_FILE),
          createDevIssuer: false,
        }
      : {
          ...authBase,
          jwks: 'file',
          file: devIssuerPaths(dataDir).jwks,
          createDevIssuer: env.AUTH_DEV_ISSUER,
        };

  // Sign-in: the configured issuer; else, on a node with the development token issuer, the
  // development OpenID provider; else none (bearer tokens only).
  const signInBase = { sessionSeconds: env.AUTH_SESSION_SECONDS, scopes: env.AUTH_OIDC_SCOPES };
  const signIn: SignInConfig =
    env.AUTH_OIDC_ISSUER && env.AUTH_OIDC_CLIENT_ID
      ? {
          ...signInBase,
          kind: 'external',
          issuer: env.AUTH_OIDC_ISSUER,
          clientId: env.AUTH_OIDC_CLIENT_ID,
          clientSecret: env.AUTH_OIDC_CLIENT_SECRET,
        }
      : auth.jwks === 'file' && auth.createDevIssuer
        ? { ...signInBase, kind: 'embedded' }
        : { ...signInBase, kind: 'none' };

  const database: DatabaseConfig = env.DATABASE_URL
    ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE }
    : { kind: 'pglite', dir: path.join(dataDir, 'pglite') };

  return Object.freeze({
    partyId: env.PARTY_ID,
    http: { host: env.HOST, port: env.PORT, publicUrl: env.PUBLIC_URL },
    dataDir,
    keysDir: env.PARLEY_KEYS_DIR ? path.resolve(env.PARLEY_KEYS_DIR) : path.join(dataDir, 'keys'),
    policyFile: env.PARLEY_POLICY_FILE
      ? path.resolve(env.PARLEY_POLICY_FILE)
      : fileURLToPath(new URL('./policy/default-policy.json', import.meta.url)),
    database,
    temporal,
    codec,
    auth,
    signIn,
    mapTileUrl: env.MAP_TILE_URL,
    retentionSweepSeconds: env.RETENTION_SWEEP_SECONDS,
    mediatorWatchSeconds: env.MEDIATOR_WATCH_SECONDS,
    relayProofsPerMinute: env.RELAY_PROOFS_PER_MINUTE,
    mediatorReminderSeconds: env.MEDIATOR_REMINDER_SECONDS,
    deliveryMaxBackoffSeconds: env.DELIVERY_MAX_BACKOFF_SECONDS,
    updateTimeoutSeconds: env.REQUEST_UPDATE_TIMEOUT_SECONDS,
    workflowHistoryLimit: env.WORKFLOW_HISTORY_LIMIT,
    keyRegistryCacheSeconds: env.KEY_REGISTRY_CACHE_SECONDS,
    attachments: { maxBytes: env.ATTACHMENT_MAX_BYTES, mediaTypes: env.ATTACHMENT_MEDIA_TYPES },
    audit: {
      checkpointEntries: env.AUDIT_CHECKPOINT_ENTRIES,
      checkpointSeconds: env.AUDIT_CHECKPOINT_SECONDS,
      integrateMs: env.AUDIT_INTEGRATE_MS,
    },
    metrics: { token: env.METRICS_TOKEN, temporalAddress: env.TEMPORAL_METRICS_ADDRESS },
    notifications: {
      webhookUrls: env.NOTIFY_WEBHOOK_URLS,
      webhookSecret: env.NOTIFY_WEBHOOK_SECRET,
    },
    logLevel: env.LOG_LEVEL,
  });
}

/** Why nothing can listen at host:port now (undefined: it can), as a configuration problem. */
async function listenProblem(
  host: string,
  port: number,
  variable: string,
  what: string,
): Promise<{ path: string; message: string } | undefined> {
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  if (!err) return undefined;
  switch (err.code) {
    case 'EADDRINUSE':
      return {
        path: variable,
        message: `port ${port} on ${host} is already in use (another node or program listens there), so ${what} cannot start; stop that program or set ${variable} to a free port`,
      };
    case 'EACCES':
      return {
        path: variable,
        message: `this user may not listen on port ${port} (ports below 1024 need privileges); set ${variable} to a higher port`,
      };
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { path: 'HOST', message: `${host} is not an address of this machine (${err.code})` };
    default:
      return {
        path: variable,
        message: `cannot listen on ${host}:${port}: ${err.code ?? err.message}`,
      };
  }
}

/**
 * Checks what a node needs from the machine before it touches anything (keys, database,
 * migrations, Temporal): its ports are free, and its token issuer key set is there or will be
 * created. Throws ConfigError, like every configuration problem (exit code 2 from `parley start`).
 */
export async function preflight(config: Config): Promise<void> {
  const problems: { path: string; message: string }[] = [];
  if (config.http.port !== 0) {
    const p = await listenProblem(config.http.host, config.http.port, 'PORT', 'the API');
    if (p) problems.push(p);
  }
  if (config.temporal.kind === 'embedded') {
    for (const [port, variable, what] of [
      [config.temporal.port, 'TEMPORAL_DEV_PORT', 'the embedded Temporal dev server'],
      [config.temporal.uiPort, 'TEMPORAL_DEV_UI_PORT', 'the Temporal dev server’s UI'],
    ] as const) {
      if (port === 0) continue;
      const p = await listenProblem('127.0.0.1', port, variable, what);
      if (p) problems.push(p);
    }
  }
  if (config.auth.jwks === 'file' && !config.auth.createDevIssuer) {
    const readable = await fs.promises.access(config.auth.file, fs.constants.R_OK).then(
      () => true,
      () => false,
    );
    if (!readable) {
      problems.push(
        config.auth.file === devIssuerPaths(config.dataDir).jwks
          ? {
              path: 'AUTH_DEV_ISSUER',
              message:
                'false, and no token issuer key set is configured: set AUTH_JWKS_FILE or AUTH_JWKS_URL to your identity provider’s keys, or leave AUTH_DEV_ISSUER unset to create a development issuer',
            }
          : { path: 'AUTH_JWKS_FILE', message: `${config.auth.file} cannot be read` },
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
