// Makes sure the node's namespace exists and carries the project's search attributes.
// Idempotent; on a managed service that forbids these calls it explains what to do instead.
import type { Connection } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { PARLEY_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const GRPC_ALREADY_EXISTS = 6;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_NOT_FOUND = 5;

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface NamespaceSetupResult {
  created: boolean;
  searchAttributesAdded: string[];
  warnings: string[];
}

/** Registers the namespace (when missing) and the search attributes (those missing). */
export async function ensureNamespace(
  connection: Connection,
  namespace: string,
  opts: { retentionDays?: number; timeoutMs?: number } = {},
): Promise<NamespaceSetupResult> {
  const result: NamespaceSetupResult = { created: false, searchAttributesAdded: [], warnings: [] };
  const svc = connection.workflowService;
  try {
    await svc.describeNamespace({ namespace });
  } catch (err) {
    if (grpcCode(err) !== GRPC_NOT_FOUND) throw err;
    try {
      await svc.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msNumberToTs((opts.retentionDays ?? 30) * 86_400_000),
      });
      result.created = true;
    } catch (regErr) {
      if (grpcCode(regErr) !== GRPC_ALREADY_EXISTS) throw regErr;
    }
  }

  const operator = connection.operatorService;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  // A new namespace takes a moment to reach the frontend's namespace cache: retry NOT_FOUND.
  let existing: Record<string, unknown>;
  for (;;) {
    try {
      existing = (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
      break;
    } catch (err) {
      if (grpcCode(err) === GRPC_PERMISSION_DENIED) {
        result.warnings.push(
          `not allowed to list search attributes in ${namespace}; register ${PARLEY_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')} with your Temporal service's tools`,
        );
        return result;
      }
      if (grpcCode(err) !== GRPC_NOT_FOUND || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
  const missing = PARLEY_SEARCH_ATTRIBUTES.filter((k) => !(k.name in existing));
  if (missing.length > 0) {
    const searchAttributes = Object.fromEntries(
      missing.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!]),
    );
    try {
      await operator.addSearchAttributes({ namespace, searchAttributes });
      result.searchAttributesAdded = missing.map((k) => k.name);
    } catch (err) {
      if (grpcCode(err) === GRPC_PERMISSION_DENIED) {
        result.warnings.push(
          `not allowed to add search attributes ${missing.map((k) => k.name).join(', ')}`,
        );
      } else if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err;
    }
  }

  // New search attributes, too, take a moment before queries accept them.
  for (;;) {
    try {
      await connection.workflowService.listWorkflowExecutions({
        namespace,
        pageSize: 1,
        query: 'ParleyStatus = "submitted"',
      });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
  return result;
}
