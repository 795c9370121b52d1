// The workflow bundle's entry point: every workflow type the worker runs.
export { outgoingRequest } from './outgoing-request.js';
