// Message ids minted inside workflows: ULIDs from the workflow's own clock and random source,
// both deterministic under replay. Never import a ULID library here (it reads the OS's random).
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function workflowUlid(): string {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[Math.floor(Math.random() * 32)]!;
  return time + random;
}
