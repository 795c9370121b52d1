// Model-based test of the convergence rule: thousands of generated runs of two parties acting at
// random while every message and receipt is delayed, reordered and duplicated; once everything is
// delivered both sides show the same state and the same outcome for every message. A failing run
// is printed and written to convergence-regressions.json, whose cases replay on every run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../workflows/actions.js';
import {
  allowedActions,
  believesSettled,
  describe as describeSettled,
  drain,
  fold,
  fresh,
  run,
  type Command,
  type World,
} from './convergence.model.js';

const REGRESSIONS = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'convergence-regressions.json',
);
interface Regression {
  name: string;
  commands: Command[];
}
const regressions = JSON.parse(fs.readFileSync(REGRESSIONS, 'utf8')) as Regression[];

const side = fc.constantFrom('requester' as const, 'responder' as const);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('act' as const),
      side,
      pick: fc.nat(20),
      variant: fc.nat(20),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('deliver' as const),
      to: side,
      pick: fc.nat(10),
      dup: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('receipt' as const),
      to: side,
      pick: fc.nat(10),
      dup: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 120 }) }),
  },
);

/** Runs a scenario to the end and checks what both sides show. */
function check(commands: readonly Command[]): World {
  const world = fresh();
  for (const c of commands) run(world, c);
  drain(world);
  const atR = fold(world, 'requester');
  const atS = fold(world, 'responder');
  // Same state, same order, same outcome (applied or not, and why) for every message.
  expect(describeSettled(atS)).toBe(describeSettled(atR));
  // Every message either side signed is in the conversation and has an outcome on both sides.
  const signed = [...world.nodes.requester.own, ...world.nodes.responder.own].map((m) => m.msgId);
  expect([...atR.outcomes.keys()].sort()).toEqual(signed.sort());
  // A node that saw nothing more could change was right: its state then is its state now.
  for (const s of world.settledSnapshots)
    expect(s.state, `${s.side} ended too early`).toBe(describeSettled(fold(world, s.side)));
  // And once all is delivered, an ended request is known to be over by both.
  if (['closed', 'declined', 'withdrawn'].includes(atR.state.lifecycle.status)) {
    expect(believesSettled(world, 'requester')).toBe(true);
    expect(believesSettled(world, 'responder')).toBe(true);
  }
  return world;
}

function keep(commands: Command[]): void {
  const kept = JSON.parse(fs.readFileSync(REGRESSIONS, 'utf8')) as Regression[];
  kept.push({ name: `generated ${new Date().toISOString()}`, commands });
  fs.writeFileSync(REGRESSIONS, `${JSON.stringify(kept, null, 2)}\n`);
}

describe('convergence rule (model)', () => {
  it('brings both sides to the same state in thousands of random runs', () => {
    const result = fc.check(
      fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) => {
        check(commands);
      }),
      { numRuns: 3000 },
    );
    if (result.failed) {
      const counterexample = result.counterexample?.[0] as Command[];
      keep(counterexample);
      throw new Error(
        `convergence failed (seed ${result.seed}, path ${result.counterexample ? result.counterexamplePath : '-'}); kept in convergence-regressions.json:\n${JSON.stringify(counterexample)}\n${String(result.errorInstance)}`,
      );
    }
  });

  it.each(regressions.map((r) => [r.name, r.commands] as const))(
    'keeps regression case: %s',
    (_name, commands) => {
      check(commands);
    },
  );

  it('generates crossings: every pair of actions the two sides can take crosses in some run', () => {
    // Guards the generator: a model that never crosses would prove nothing.
    const crossings = new Set<string>();
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) => {
        const world = fresh();
        for (const c of commands) run(world, c);
        drain(world);
        const { order } = fold(world, 'requester');
        for (const a of order)
          for (const b of order)
            if (
              a.from === 'requester' &&
              b.from === 'responder' &&
              a.seen < b.seq &&
              b.seen < a.seq
            )
              crossings.add(`${a.kind}x${b.kind}`);
      }),
      // A fixed seed: this checks the generator's reach, and must not depend on luck.
      { numRuns: 3000, seed: 20261206 },
    );
    if (process.env.SHOW_CROSSINGS) console.log([...crossings].sort().join(' '));
    expect(crossings).toContain('withdrawalxresponse');
    expect(crossings).toContain('withdrawalxdecline');
    expect(crossings).toContain('withdrawalxacknowledgement');
    expect(crossings).toContain('extension_decisionxacknowledgement');
    expect(crossings).toContain('clarificationxacknowledgement');
    expect(crossings).toContain('extension_decisionxclarification_request');
    // A closure never crosses a responder's action: it needs `answered`, after which the responder
    // has no action left (see the action table).
    expect([...crossings].some((c) => c.startsWith('closurex'))).toBe(false);
  });

  it('lets a side act only as the action table allows', () => {
    const world = fresh();
    expect(allowedActions(world, 'responder')).toEqual([]);
    run(world, { t: 'deliver', to: 'responder', pick: 0, dup: false });
    expect(allowedActions(world, 'responder').every((a) => ACTIONS[a].side === 'responder')).toBe(
      true,
    );
    expect(allowedActions(world, 'responder')).toContain('acknowledge');
  });
});
