import { describe, expect, it } from '@jest/globals';
import { medianPair } from './api-bench';

describe('medianPair: the route figure of several (route, floor just before it) rounds', () => {
  it('is the pair with the median ratio, so one disturbed pair on either side does not make the figure', () => {
    const quiet = { p99: 60, floor: 30 }; // 2x
    const floorDisturbed = { p99: 60, floor: 10 }; // 6x: the floor measured in a quiet moment, the route not
    const routeDisturbed = { p99: 20, floor: 40 }; // 0.5x: the floor measured under someone else's load
    expect(medianPair([floorDisturbed, quiet, routeDisturbed])).toEqual(quiet);
    expect(medianPair([routeDisturbed, floorDisturbed, quiet])).toEqual(quiet);
  });

  it('keeps value and floor of one pair (its ratio is value / floor), the lower middle of an even count', () => {
    const pairs = [
      { p99: 90, floor: 30 }, // 3x
      { p99: 50, floor: 25 }, // 2x
      { p99: 100, floor: 25 }, // 4x
      { p99: 10, floor: 10 }, // 1x
    ];
    expect(medianPair(pairs)).toEqual({ p99: 50, floor: 25 });
    expect(medianPair([{ p99: 7, floor: 0 }])).toEqual({ p99: 7, floor: 0 });
  });

  it('refuses an empty series rather than inventing a figure', () => {
    expect(() => medianPair([])).toThrow('no measurement');
  });
});
