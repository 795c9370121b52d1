// Reading a request as a supervisor sees it (parsed through the API's own schema, or its status
// alone), waiting for a status, and uploading the fixture files a body refers to.
import { expect } from 'vitest';
import { referencedAttachments } from '../../schemas/domain/shared.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { fixtureAttachments } from '../fixtures/domain/attachments.js';
import { call } from './http.js';
import type { TestNode } from './node.js';
import { eventually } from './partners.js';

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

/** The request's status on `node`, as its supervisor reads it; undefined while it lacks it. */
export async function statusOf(node: TestNode, id: string): Promise<string | undefined> {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: await node.token('supervisor', 'status-reader'),
  });
  return res.status === 200 ? (res.body.status as string) : undefined;
}

/** Until the request shows `status` on `node` (within `timeoutMs`, 30 s unless told). */
export const untilIn = (node: TestNode, id: string, status: string, timeoutMs = 30_000) =>
  eventually(
    async () => ((await statusOf(node, id)) === status ? true : undefined),
    timeoutMs,
    `${node.config.partyId}: ${id} ${status}`,
  );

/** Uploads at `node`, as its officer (`token`), the fixture files `body` refers to. */
export async function uploadFixtures(node: TestNode, token: string, body: unknown): Promise<void> {
  for (const sha of referencedAttachments(body)) {
    const file = fixtureAttachments.find((f) => f.sha256 === sha)!;
    const put = await fetch(`${node.url}/v1/attachments/sha256:${sha}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': file.media_type },
      body: file.bytes,
    });
    expect([200, 201], `upload of ${sha}`).toContain(put.status);
  }
}
