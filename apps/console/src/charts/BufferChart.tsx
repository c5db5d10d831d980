import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { get } from '../api';
import { ErrorNote } from '../components';
import { type MoneySeries, SeriesChart } from './SeriesChart';

interface BufferDay {
  date: string;
  balance_centicents: string | null;
  payable_centicents: string;
  receivable_centicents: string;
  cycles: number;
}

/** Today's chart: the buffer at each settlement day's last pull against what that day's obligations took or gave (GET /settlement/buffer-by-day). */
export function BufferChart() {
  const q = useQuery({ queryKey: ['today', 'buffer-by-day'], queryFn: () => get<{ from: string; to: string; days: BufferDay[] }>('/settlement/buffer-by-day?days=30'), refetchInterval: 300_000 });
  const chart = useMemo(() => {
    const days = q.data?.days ?? [];
    const series: MoneySeries[] = [
      { name: 'Buffer balance', kind: 'line', values: days.map((d) => d.balance_centicents), color: '#0b5cad' },
      { name: 'Obligations payable', kind: 'bar', values: days.map((d) => d.payable_centicents), color: '#a4161a' },
      { name: 'Obligations receivable', kind: 'bar', values: days.map((d) => d.receivable_centicents), color: '#1d6b33' },
    ];
    return { categories: days.map((d) => d.date), series };
  }, [q.data]);
  return (
    <>
      <ErrorNote error={q.error} />
      {q.data && (
        <SeriesChart
          title="Buffer balance against obligations, last 30 days"
          description={`the buffer (available plus locked) at each settlement day's last balance pull, as a line, and the obligations of that day, payable and receivable, as bars, from ${q.data.from} to ${q.data.to}. The figures are in the table that follows.`}
          categoryHeader="Settlement day (ET)"
          categories={chart.categories}
          series={chart.series}
        />
      )}
    </>
  );
}
