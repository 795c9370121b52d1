// Reading a request as a supervisor sees it, parsed through the API's own schema.
import { RequestDetailView } from '../../schemas/requests-api.js';
import { call } from './http.js';
import type { TestNode } from './node.js';

/** The request with its timeline on `node`, or undefined while the node does not hold it. */
export async function requestDetail(
  node: TestNode,
  id: string,
): Promise<RequestDetailView | undefined> {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: await node.token('supervisor'),
  });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}
