import { BarChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useId, useRef } from 'react';
import { centicentsForPlot, formatCenticents } from '../money';

// Only what the console draws (tree-shaken through echarts/core): line and bar series, a grid, a
// legend, tooltips, the SVG renderer. The whole library would be ~350 kB gzip on its own.
use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, AriaComponent, SVGRenderer]);

type Option = ComposeOption<LineSeriesOption | BarSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>;

export interface MoneySeries {
  name: string;
  kind: 'line' | 'bar';
  /** Centicents as the API's decimal strings; null where there is no figure. */
  values: Array<string | null>;
  color: string;
}

/**
 * A chart of money over time, with its text alternative: the same figures in a table (exact, from the
 * decimal strings), so the chart itself is an image with a short description. Numbers are made from
 * the strings only to place points; every figure a person reads (table, tooltip) is the string's.
 */
export function SeriesChart({ title, description, categories, series, categoryHeader }: { title: string; description: string; categories: string[]; series: MoneySeries[]; categoryHeader: string }) {
  const box = useRef<HTMLDivElement>(null);
  const tableId = useId();
  useEffect(() => {
    if (!box.current) return;
    const chart = init(box.current, undefined, { renderer: 'svg' });
    const option: Option = {
      aria: { enabled: false },
      animation: false,
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis',
        formatter: (params) => {
          const list = Array.isArray(params) ? params : [params];
          const i = list[0]?.dataIndex ?? 0;
          const lines = series.map((s) => `${s.name}: ${formatCenticents(s.values[i])}`);
          return [categories[i], ...lines].map((l) => escapeHtml(l)).join('<br>');
        },
      },
      xAxis: { type: 'category', data: categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => compactUsd(v) } },
      series: series.map((s) =>
        s.kind === 'line'
          ? ({ type: 'line', name: s.name, data: s.values.map(centicentsForPlot), color: s.color, connectNulls: false, showSymbol: true } satisfies LineSeriesOption)
          : ({ type: 'bar', name: s.name, data: s.values.map(centicentsForPlot), color: s.color } satisfies BarSeriesOption),
      ),
    };
    chart.setOption(option);
    const resize = new ResizeObserver(() => chart.resize());
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      chart.dispose();
    };
  }, [categories, series]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" role="img" aria-label={`${title}: ${description}`} aria-describedby={tableId} />
      <details>
        <summary>The figures as a table</summary>
        <div className="table-wrap" role="region" aria-label={`${title}: figures`} tabIndex={0}>
          <table className="table" id={tableId}>
            <caption className="sr-only">{title}</caption>
            <thead>
              <tr>
                <th scope="col">{categoryHeader}</th>
                {series.map((s) => (
                  <th scope="col" className="num" key={s.name}>
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {categories.map((c, i) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  {series.map((s) => (
                    <td className="num" key={s.name}>
                      {formatCenticents(s.values[i])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Axis ticks only (a scale, not a figure): $1.2M, $350k, $12. */
function compactUsd(dollars: number): string {
  const abs = Math.abs(dollars);
  const sign = dollars < 0 ? '-' : '';
  if (abs >= 1e9) return `${sign}$${(abs / 1e9).toFixed(1)}B`;
  if (abs >= 1e6) return `${sign}$${(abs / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${sign}$${(abs / 1e3).toFixed(0)}k`;
  return `${sign}$${abs.toFixed(abs < 10 ? 2 : 0)}`;
}
