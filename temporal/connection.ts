// Connections to the Temporal service from configuration: a client connection for callers and a
// native connection for the worker, with TLS / mTLS / API key when the service needs them.
import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TemporalConfig } from '../config.js';

/** The gRPC address of the service this node uses. */
export function temporalAddress(cfg: TemporalConfig): string {
  return cfg.kind === 'embedded' ? `127.0.0.1:${cfg.port}` : cfg.address;
}

function tlsOptions(cfg: TemporalConfig): TLSConfig | undefined {
  if (cfg.kind !== 'external' || !cfg.tls) return undefined;
  const { certPath, keyPath, caPath, serverName } = cfg.tls;
  return {
    ...(serverName ? { serverNameOverride: serverName } : {}),
    ...(caPath ? { serverRootCACertificate: fs.readFileSync(caPath) } : {}),
    ...(certPath && keyPath
      ? { clientCertPair: { crt: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) } }
      : {}),
  };
}

function connectionOptions(cfg: TemporalConfig) {
  const apiKey = cfg.kind === 'external' ? cfg.apiKey : undefined;
  return {
    address: temporalAddress(cfg),
    tls: tlsOptions(cfg) ?? false,
    ...(apiKey ? { apiKey } : {}),
  };
}

export async function connectClient(
  cfg: TemporalConfig,
): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({
    ...connectionOptions(cfg),
    connectTimeout: '10 seconds',
  });
  return { connection, client: new Client({ connection, namespace: cfg.namespace }) };
}

export function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(cfg));
}
