// Bounded Temporal calls: an officer's HTTP call never waits on its workflow for ever. The call
// runs with a client deadline and an abort signal; past the limit the caller gets the error it is
// given (a 503 with a stable code), and the timer is always cleared.
import {
  isGrpcCancelledError,
  isGrpcDeadlineError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';

/** Runs `call` for at most `ms`; a call cut short throws `onTimeout()` instead. */
export async function withinTime<T>(
  client: Client,
  ms: number,
  call: () => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await client.withAbortSignal(controller.signal, () =>
      client.withDeadline(Date.now() + ms, call),
    );
  } catch (err) {
    const timedOut =
      controller.signal.aborted ||
      err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      isGrpcDeadlineError(err) ||
      isGrpcCancelledError(err);
    if (timedOut) throw onTimeout();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
