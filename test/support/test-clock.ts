import type { INestApplicationContext } from '@nestjs/common';
import { Clock } from '../../src/common/clock.js';

/** The application's one Clock, moved by the test instead of waiting for time to pass. */
export interface TestClock {
  /** Moves the clock forward (or back, with a negative value) by `ms`, from wherever it is. */
  advance(ms: number): void;
  /** Holds the clock at `epochMs` until it is moved again. */
  set(epochMs: number): void;
  /** Back to the real time. */
  reset(): void;
  now(): number;
}

export function controlClock(app: INestApplicationContext): TestClock {
  const clock = app.get(Clock);
  let offset = 0;
  let held: number | undefined;
  const now = () => (held ?? Date.now()) + offset;
  // An own property shadows the prototype's method, and every service holds this one instance.
  clock.now = now;
  return {
    advance: (ms) => (offset += ms),
    set: (epochMs) => {
      held = epochMs;
      offset = 0;
    },
    reset: () => {
      held = undefined;
      offset = 0;
    },
    now,
  };
}
