import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IngestionWorld, INGESTION_JOB_NAMES } from './ingestion-world';
import { databaseFacts, truthFacts } from './truth-comparison';

describe('Ingestion of a clean simulated world', () => {
  let world: IngestionWorld;
  beforeAll(async () => {
    world = await IngestionWorld.start({ seed: 11 });
  });
  afterAll(() => world?.close());

  it('ingests every obligation, detail, margin row, history entry and report, and nothing else', async () => {
    const statuses = await world.runAll();
    expect(statuses).toEqual(Object.fromEntries(INGESTION_JOB_NAMES.map((n) => [n, 'succeeded'])));
    const truth = truthFacts(await world.truth());
    expect(truth.obligations).toHaveLength(5);
    expect(truth.settlement_details).toHaveLength(5 * 5 * 4);
    expect(truth.reports.length).toBeGreaterThan(0);
    expect(await databaseFacts(world.db.dataSource)).toEqual(truth);
  });

  it('a second pass changes nothing: obligations stay at one version each and history has no duplicates', async () => {
    await world.runAll('manual');
    expect(await databaseFacts(world.db.dataSource)).toEqual(truthFacts(await world.truth()));
    const [versions] = await world.db.dataSource.query(
      `SELECT count(*)::int AS n, count(DISTINCT obligation_id)::int AS o FROM klear_obligation_version`,
    );
    expect(versions).toEqual({ n: 5, o: 5 });
  });
});
