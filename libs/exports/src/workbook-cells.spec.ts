import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { centicentsCell, centicentsCellFromDecimal, etDateTimeCell, textCell, usdCell, usdCellFromDecimal } from './workbook-cells';
import { settlementDay, workbookFileName } from './settlement-day';

describe('money cells', () => {
  it('write dollars as the double nearest the exact amount below 10^15 centicents, and exact text from there', () => {
    expect(usdCell(12_345n)).toBe(1.2345);
    expect(usdCell(-1n)).toBe(-0.0001);
    expect(usdCell(999_999_999_999_999n)).toBe(99_999_999_999.9999);
    expect(usdCell(1_000_000_000_000_000n)).toBe('100000000000.0000');
    expect(usdCell(5_544_911_306_793_598n)).toBe('554491130679.3598');
    expect(usdCell(2n ** 53n + 1n)).toBe('900719925474.0993');
    expect(usdCell(-(2n ** 63n))).toBe('-922337203685477.5808');
    expect(usdCell(null)).toBeNull();
  });

  it('show every centicent: the dollar cell prints back to the exact 4-decimal amount over the whole int64 range', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
        (c) => {
          const cell = usdCell(c)!;
          const printed = typeof cell === 'number' ? cell.toFixed(4) : cell;
          const sign = c < 0n ? '-' : '';
          const m = c < 0n ? -c : c;
          expect(printed).toBe(`${sign}${m / 10000n}.${(m % 10000n).toString().padStart(4, '0')}`.replace(/^-0\.0000$/, '0.0000'));
        },
      ),
    );
  });

  it('keep the exact centicents as an integer Excel holds exactly (< 10^15), else as digits', () => {
    expect(centicentsCell(999_999_999_999_999n)).toBe(999_999_999_999_999);
    expect(centicentsCell(1_000_000_000_000_000n)).toBe('1000000000000000');
    expect(centicentsCell(-1_000_000_000_000_000n)).toBe('-1000000000000000');
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (c) => expect(BigInt(String(centicentsCell(c)))).toBe(c)));
  });
});

describe('money cells from PostgreSQL decimal text', () => {
  it('equal the cells built from the same amount as a bigint, over the whole int64 range', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: -(10n ** 16n), max: 10n ** 16n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
        (c) => {
          expect([usdCellFromDecimal(c.toString()), centicentsCellFromDecimal(c.toString())]).toEqual([usdCell(c), centicentsCell(c)]);
        },
      ),
    );
    expect([usdCellFromDecimal('-999999999999999'), usdCellFromDecimal('-1000000000000000'), usdCellFromDecimal(null)]).toEqual([
      -99_999_999_999.9999,
      '-100000000000.0000',
      null,
    ]);
  });
});

describe('text cells', () => {
  it('pass formula-like text through unchanged as a string, never as a formula object', () => {
    for (const text of ['=1+1', '+SUM(A1)', '-2', '@cmd', '=HYPERLINK("http://x","y")']) expect(textCell(text)).toBe(text);
    expect(textCell(42)).toBe('42');
    expect(textCell(null)).toBeNull();
  });

  it('replace control characters XML cannot carry', () => {
    expect(textCell('a\u0000b\u0007c\td\ne')).toBe('a\ufffdb\ufffdc\td\ne');
  });
});

describe('settlement days', () => {
  it('run from ET midnight to ET midnight, 23 or 25 hours across daylight-saving changes', () => {
    const hours = (d: string) => (settlementDay(d).end.getTime() - settlementDay(d).start.getTime()) / 3_600_000;
    expect(settlementDay('2026-03-10').start.toISOString()).toBe('2026-03-10T04:00:00.000Z');
    expect(settlementDay('2026-01-15').start.toISOString()).toBe('2026-01-15T05:00:00.000Z');
    expect([hours('2026-03-08'), hours('2026-03-09'), hours('2026-11-01')]).toEqual([23, 24, 25]);
  });

  it('refuse what is not a calendar date', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '20260310', '2026-3-10', '']) expect(() => settlementDay(bad)).toThrow(/calendar date/);
  });

  it('name the first build of a day plainly and rebuilds with a version suffix', () => {
    expect([workbookFileName('2026-03-10', 1), workbookFileName('2026-03-10', 3)]).toEqual([
      'klear-recon-2026-03-10.xlsx',
      'klear-recon-2026-03-10-v3.xlsx',
    ]);
  });

  it('show instants at their ET wall-clock time in date cells', () => {
    expect(etDateTimeCell(new Date('2026-03-11T03:30:00Z'))!.toISOString()).toBe('2026-03-10T23:30:00.000Z');
  });
});
