// The workflow bundle's entry point: every workflow type the worker runs.
export { deliverMessage } from './deliver-message.js';
export { incomingRequest } from './incoming-request.js';
export { outgoingRequest } from './outgoing-request.js';
