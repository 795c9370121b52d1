// The node's Temporal worker: request workflows plus the activities bound to this node's
// dependencies. Loads a prebuilt workflow bundle when given one (tests, production). Payloads pass
// through the node's codec outside the sandbox, so the bundle is the same with or without it.
import { fileURLToPath } from 'node:url';
import type { PayloadCodec } from '@temporalio/common';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Encrypts what the worker gives Temporal, decrypts what it reads (temporal/codec.ts). */
  codec: PayloadCodec;
  /** Path of a bundle made by `bundleWorkflowCode`; without it the worker bundles at start. */
  workflowBundlePath?: string;
  /** How long running activities get to finish when the worker shuts down. */
  shutdownGraceTime?: string;
}

/**
 * How long a workflow task waits on the sticky queue of the worker that last ran the workflow
 * before Temporal hands it to any worker. The SDK's 10 s default equals an officer's default wait
 * for an update (REQUEST_UPDATE_TIMEOUT_SECONDS), so the first action after a killed worker came
 * back could answer `503 update_timeout`; 3 s keeps the cache's benefit and recovers well within it.
 */
export const STICKY_QUEUE_TIMEOUT = '3 seconds';

export function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    dataConverter: { payloadCodecs: [opts.codec] },
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    shutdownGraceTime: opts.shutdownGraceTime ?? '5 seconds',
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_TIMEOUT,
  });
}
