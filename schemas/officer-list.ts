// The officers' list item (`GET /v1/requests`): a request in its summary form and who owes its
// next step, so the work list can show what waits on this party. No I/O.
import type { z } from 'zod';
import { RequestView } from './requests-api.js';
import { NextStepView } from './supervisor-api.js';

export const RequestListItem = RequestView.extend({ nextStep: NextStepView });
export type RequestListItem = z.infer<typeof RequestListItem>;
