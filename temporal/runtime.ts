// Routes the Temporal SDK's own log lines (worker, bundler, core) into the node's logger, at
// warning level and above unless LOG_LEVEL asks for more.
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from 'pino';

let installed = false;

/** Installs the SDK runtime once per process; later calls are no-ops. */
export function installTemporalRuntime(log: Logger): void {
  if (installed) return;
  installed = true;
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
  });
}
