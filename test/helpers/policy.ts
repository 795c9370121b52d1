// A deadline policy in seconds for tests, written to a file both test nodes load.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface SecondsRule {
  request_type: 'mine_map' | 'grave_information' | 'identification_result';
  priority: 'routine' | 'urgent' | 'critical';
  acknowledge_seconds: number;
  respond_seconds: number;
  reminder_offsets_seconds?: number[];
  escalation_after_seconds?: number[];
  clarification_stops_clock?: boolean;
}

/** Writes a calendar policy with generous defaults for every type and priority, overridden by `rules`. */
export async function writeTestPolicy(rules: SecondsRule[] = []): Promise<string> {
  const all: SecondsRule[] = [];
  for (const request_type of ['mine_map', 'grave_information', 'identification_result'] as const) {
    for (const priority of ['routine', 'urgent', 'critical'] as const) {
      all.push(
        rules.find((r) => r.request_type === request_type && r.priority === priority) ?? {
          request_type,
          priority,
          acknowledge_seconds: 3600,
          respond_seconds: 7200,
        },
      );
    }
  }
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'parley-policy-')), 'policy.json');
  await fs.writeFile(
    file,
    JSON.stringify({ version: 1, name: 'test policy (seconds)', calendar: 'calendar', rules: all }),
  );
  return file;
}
