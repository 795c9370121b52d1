// Routes the Temporal SDK's own log lines (worker, bundler, core) into the node's logger, at
// warning level and above unless LOG_LEVEL asks for more; optionally starts the SDK's Prometheus
// exporter (workflow and activity task latencies, poll and slot metrics) on its own address.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed: { metricsAddress: string | undefined } | undefined;

export interface RuntimeOptions {
  /** `host:port` for the SDK's Prometheus exporter (`/metrics`); unset: no SDK metrics. */
  metricsAddress?: string | undefined;
}

/**
 * Installs the SDK runtime once per process; later calls are no-ops (the SDK metrics exporter is
 * per process too: the first node's address holds).
 */
export function installTemporalRuntime(log: Logger, opts: RuntimeOptions = {}): void {
  if (installed) {
    if (opts.metricsAddress && opts.metricsAddress !== installed.metricsAddress)
      log.warn('the Temporal SDK metrics exporter is per process; the first address given holds');
    return;
  }
  installed = { metricsAddress: opts.metricsAddress };
  const verbose = log.level === 'debug' || log.level === 'trace';
  Runtime.install({
    logger: new DefaultLogger(verbose ? 'DEBUG' : 'WARN', (entry: LogEntry) => {
      const fields = { ...entry.meta, temporal: true };
      switch (entry.level) {
        case 'ERROR':
          log.error(fields, entry.message);
          break;
        case 'WARN':
          log.warn(fields, entry.message);
          break;
        case 'INFO':
          log.info(fields, entry.message);
          break;
        default:
          log.debug(fields, entry.message);
      }
    }),
    ...(opts.metricsAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: opts.metricsAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }
      : {}),
  });
}
