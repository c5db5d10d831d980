import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { get } from '../api';
import { ErrorNote } from '../components';
import { type MoneySeries, SeriesChart } from './SeriesChart';

interface CycleFigures {
  cycle: string;
  pnl_centicents: string | null;
  maintenance_margin_centicents: string | null;
}

/** A subtrader's Klear PnL (bars) and maintenance margin (line) over the latest cycles (GET /subtraders/{id}/cycles). */
export function SubtraderCyclesChart({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['subtrader-cycles', id], queryFn: () => get<{ cycles: CycleFigures[] }>(`/subtraders/${encodeURIComponent(id)}/cycles?limit=30`) });
  const chart = useMemo(() => {
    const cycles = q.data?.cycles ?? [];
    const series: MoneySeries[] = [
      { name: 'PnL', kind: 'bar', values: cycles.map((c) => c.pnl_centicents), color: '#0b5cad' },
      { name: 'Maintenance margin', kind: 'line', values: cycles.map((c) => c.maintenance_margin_centicents), color: '#b35900' },
    ];
    return { categories: cycles.map((c) => c.cycle.replace('T', ' ').replace(/:00\.000Z$/, 'Z')), series };
  }, [q.data]);
  return (
    <>
      <ErrorNote error={q.error} />
      {q.data && (
        <SeriesChart
          title={`PnL and margin over cycles, ${id}`}
          description={`Klear's PnL of this subtrader in each of the latest ${chart.categories.length} cycles as bars, and its maintenance margin as a line. The figures are in the table that follows.`}
          categoryHeader="Cycle (UTC)"
          categories={chart.categories}
          series={chart.series}
        />
      )}
    </>
  );
}
