// Connections to the Temporal service from configuration: a client connection for callers and a
// native connection for the worker, with TLS / mTLS / API key when the service needs them. The
// client encrypts every payload with the node's codec (the worker's is set in worker.ts).
import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
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

/** A client on the node's namespace whose payloads go through `codec` (never without one). */
export async function connectClient(
  cfg: TemporalConfig,
  codec: PayloadCodec,
): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({
    ...connectionOptions(cfg),
    connectTimeout: '10 seconds',
  });
  const client = new Client({
    connection,
    namespace: cfg.namespace,
    dataConverter: { payloadCodecs: [codec] },
  });
  return { connection, client };
}

export function connectWorker(cfg: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(cfg));
}
