import { describe, expect, it } from 'vitest';
import { checkTargets, formatTargets, type RunFigures } from '../bench/targets.ts';

/** A full PostgreSQL run that meets every target, by a little. */
function fullRun(overrides: Partial<RunFigures> = {}): RunFigures {
  return {
    database: 'postgres',
    connections: 64,
    ran: () => true,
    ingest: { docsPerSec: 2_000, p99Ms: 50, peakRssMb: 250, non2xx: 0 },
    references: { minimalIngest: { p99Ms: 60 } },
    ratios: { vsMinimalIngest: 1 },
    delivery: { docsPerSec: 3_000, lost: 0, duplicated: 0 },
    judging: { seconds: 10, reservations: 10_000 },
    fileDrop: { docsPerSec: 5_000, peakRssMb: 300, documents: 100_000 },
    ...overrides,
  };
}

const verdicts = (run: RunFigures) =>
  Object.fromEntries(checkTargets(run).map((c) => [c.target, c.met]));

describe('the bench checks DESIGN §9 targets', () => {
  it('on PostgreSQL, every target, met at its bound', () => {
    expect(verdicts(fullRun())).toEqual({
      'ingest ≥ 0.8 × the minimal ingest': true,
      'ingest ≥ 1.0 × the minimal ingest (the moonshot)': true,
      'ingest p99 ≤ 50 ms at 64 connections': true,
      'gateway RSS ≤ 250 MB under sustained load': true,
      'push delivery ≥ 3,000 docs/s': true,
      'push delivery: nothing lost, nothing duplicated': true,
      '10,000 reservations × 10 bids judged in ≤ 10 s': true,
      'file drop ≥ 5,000 docs/s': true,
      'file drop peak RSS ≤ 300 MB': true,
    });
  });

  it('not met just past each bound', () => {
    const run = fullRun({
      ingest: { docsPerSec: 2_000, p99Ms: 51, peakRssMb: 251, non2xx: 0 },
      ratios: { vsMinimalIngest: 0.79 },
      delivery: { docsPerSec: 2_999, lost: 0, duplicated: 1 },
      judging: { seconds: 10.01, reservations: 10_000 },
      fileDrop: { docsPerSec: 4_999, peakRssMb: 301, documents: 100_000 },
    });
    expect(Object.values(verdicts(run))).toEqual(Array(9).fill(false));
    const between = verdicts(fullRun({ ratios: { vsMinimalIngest: 0.85 } }));
    expect(between['ingest ≥ 0.8 × the minimal ingest']).toBe(true);
    expect(between['ingest ≥ 1.0 × the minimal ingest (the moonshot)']).toBe(false);
    expect(
      verdicts(fullRun({ delivery: { docsPerSec: 9_000, lost: 1, duplicated: 0 } })),
    ).toMatchObject({
      'push delivery ≥ 3,000 docs/s': true,
      'push delivery: nothing lost, nothing duplicated': false,
    });
  });

  it('measures nothing a phase left out or a quick run is too small for', () => {
    const checks = checkTargets(
      fullRun({
        ran: (phase) => phase !== 'references',
        judging: { seconds: 0.7, reservations: 1_000 },
        fileDrop: { docsPerSec: 9_000, peakRssMb: 150, documents: 5_000 },
      }),
    );
    const byTarget = Object.fromEntries(checks.map((c) => [c.target, c]));
    expect(byTarget['ingest ≥ 0.8 × the minimal ingest']).toEqual({
      target: 'ingest ≥ 0.8 × the minimal ingest',
      measured: 'not measured (references not run)',
      met: undefined,
    });
    // Without the references, the p99 stands alone.
    expect(byTarget['ingest p99 ≤ 50 ms at 64 connections']).toMatchObject({
      measured: '50 ms (mean 32 ms at 2,000 docs/s)',
      met: true,
    });
    expect(byTarget['10,000 reservations × 10 bids judged in ≤ 10 s']).toMatchObject({
      measured: 'not measured (1,000 reservations: a full run judges 10,000)',
      met: undefined,
    });
    expect(byTarget['file drop ≥ 5,000 docs/s']?.met).toBeUndefined();
    expect(byTarget['file drop peak RSS ≤ 300 MB']?.met).toBeUndefined();
  });

  it('measures no p99 under another load than 64 connections', () => {
    const p99 = checkTargets(fullRun({ connections: 32 })).find((c) => c.target.includes('p99'));
    expect(p99).toEqual({
      target: 'ingest p99 ≤ 50 ms at 64 connections',
      measured: 'not measured (the load had 32 connections)',
      met: undefined,
    });
  });

  it('measures no latency or memory of a load refused in part, or of no documents at all', () => {
    const of = (ingest: RunFigures['ingest']) =>
      Object.fromEntries(
        checkTargets(fullRun({ ingest }))
          .filter((c) => c.target.includes('p99') || c.target.includes('gateway RSS'))
          .map((c) => [c.target, { measured: c.measured, met: c.met }]),
      );
    // Quick refusals would have met both bounds.
    expect(of({ docsPerSec: 1_900, p99Ms: 5, peakRssMb: 90, non2xx: 1_200 })).toEqual({
      'ingest p99 ≤ 50 ms at 64 connections': {
        measured: 'not measured (1,200 answers were not 2xx)',
        met: undefined,
      },
      'gateway RSS ≤ 250 MB under sustained load': {
        measured: 'not measured (1,200 answers were not 2xx)',
        met: undefined,
      },
    });
    expect(of({ docsPerSec: 0, p99Ms: 0, peakRssMb: 80, non2xx: 0 })).toEqual({
      'ingest p99 ≤ 50 ms at 64 connections': {
        measured: 'not measured (no document was ingested)',
        met: undefined,
      },
      'gateway RSS ≤ 250 MB under sustained load': {
        measured: 'not measured (no document was ingested)',
        met: undefined,
      },
    });
  });

  it('on the embedded database, only its own rate and a delivery that loses nothing', () => {
    const checks = checkTargets(
      fullRun({
        database: 'pglite',
        ingest: { docsPerSec: 799, p99Ms: 500, peakRssMb: 400, non2xx: 0 },
      }),
    );
    expect(checks).toEqual([
      {
        target: 'ingest ≥ 800 docs/s on the embedded database',
        measured: '799 docs/s',
        met: false,
      },
      {
        target: 'push delivery: nothing lost, nothing duplicated',
        measured: 'lost 0, duplicated 0',
        met: true,
      },
    ]);
  });

  it('prints one line per target, with its verdict and figure', () => {
    const text = formatTargets(
      'postgres',
      checkTargets(
        fullRun({ ingest: { docsPerSec: 1_650, p99Ms: 95, peakRssMb: 205, non2xx: 0 } }),
      ),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('DESIGN §9 targets on postgres:');
    expect(lines).toHaveLength(10);
    expect(lines.find((l) => l.includes('p99'))).toMatch(
      /^ {2}NOT MET {2}ingest p99 ≤ 50 ms .* 95 ms \(the minimal ingest's: 60 ms; mean 39 ms at 1,650 docs\/s\)$/,
    );
    expect(lines.find((l) => l.includes('RSS ≤ 250'))).toMatch(/^ {4}met {4}.*peak 205 MB$/);
  });
});
