import { useInfiniteQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useEffect, useRef } from 'react';
import { ApiError, get } from './api';

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Klear ops`;
  }, [title]);
  return (
    <section aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">{title}</h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" className="error">
      {text}
    </p>
  );
}

/** A form's refusal, read out when it appears; `id` is what the form's aria-describedby names. */
export function FormAlert({ id, error }: { id: string; error: string | null }) {
  if (!error) return null;
  return (
    <p id={id} role="alert" className="error">
      {error}
    </p>
  );
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <>—</>;
  return <time dateTime={iso}>{iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>;
}

/** Seconds from now until `iso` as "3h 12m" (negative: "overdue"). `nowMs` comes from the server's clock. */
export function countdown(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const seconds = Math.round((Date.parse(iso) - nowMs) / 1000);
  const abs = Math.abs(seconds);
  const text = abs >= 86400 ? `${Math.floor(abs / 86400)}d ${Math.floor((abs % 86400) / 3600)}h` : abs >= 3600 ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m` : `${Math.floor(abs / 60)}m ${abs % 60}s`;
  return seconds < 0 ? `overdue ${text}` : text;
}

export function age(seconds: number): string {
  if (seconds >= 86400) return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 60)}m`;
}

export interface Column<T> {
  key: string;
  header: string;
  width: string;
  cell: (row: T) => ReactNode;
  numeric?: boolean;
}

interface CursorPage<T> {
  data: T[];
  next_cursor: string | null;
}

/** The infinite query of a cursor-paged list (shared with the opening-page prefetch). */
export function cursorPageQuery<T>(queryKey: unknown[], path: (cursor: string | null) => string) {
  return {
    queryKey,
    queryFn: ({ pageParam }: { pageParam: string | null }) => get<CursorPage<T>>(path(pageParam)),
    initialPageParam: null as string | null,
    getNextPageParam: (last: CursorPage<T>) => last.next_cursor,
  };
}

/**
 * A server-paged, virtualised table: only the visible rows are in the DOM, the next page is fetched
 * as the reader scrolls near the end (10,000 rows stay smooth). ARIA table roles keep it readable by
 * screen readers; rows are reachable with Tab through their links and buttons.
 */
export function CursorTable<T>({
  queryKey,
  path,
  columns,
  rowKey,
  label,
  rowHeight = 40,
  height = 560,
  selection,
}: {
  queryKey: unknown[];
  path: (cursor: string | null) => string;
  columns: Array<Column<T>>;
  rowKey: (row: T) => string;
  label: string;
  rowHeight?: number;
  height?: number;
  selection?: { selected: Set<string>; toggle: (id: string) => void };
}) {
  const query = useInfiniteQuery(cursorPageQuery<T>(queryKey, path));
  const rows = query.data?.pages.flatMap((p) => p.data) ?? [];
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => rowHeight, overscan: 10 });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 20 && query.hasNextPage && !query.isFetchingNextPage) void query.fetchNextPage();
  }, [last?.index, rows.length, query.hasNextPage, query.isFetchingNextPage]);
  const template = `${selection ? '2.5rem ' : ''}${columns.map((c) => c.width).join(' ')}`;
  return (
    <div className="table-wrap">
      <ErrorNote error={query.error} />
      <div role="table" aria-label={label} aria-rowcount={query.hasNextPage ? -1 : rows.length + 1} className="vtable">
        <div role="rowgroup">
          <div role="row" className="vrow head" style={{ gridTemplateColumns: template }} aria-rowindex={1}>
            {selection && (
              <span role="columnheader">
                <span className="sr-only">Select</span>
              </span>
            )}
            {columns.map((c) => (
              <span role="columnheader" key={c.key} className={c.numeric ? 'num' : undefined}>
                {c.header}
              </span>
            ))}
          </div>
        </div>
        <div role="rowgroup" ref={scroller} className="vbody" style={{ maxHeight: height }} tabIndex={0} aria-label={`${label}: rows`}>
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {items.map((item) => {
              const row = rows[item.index];
              const id = rowKey(row);
              return (
                <div
                  role="row"
                  key={id}
                  aria-rowindex={item.index + 2}
                  className="vrow"
                  style={{ gridTemplateColumns: template, position: 'absolute', top: 0, left: 0, right: 0, height: rowHeight, transform: `translateY(${item.start}px)` }}
                >
                  {selection && (
                    <span role="cell">
                      <input type="checkbox" aria-label={`select ${id}`} checked={selection.selected.has(id)} onChange={() => selection.toggle(id)} />
                    </span>
                  )}
                  {columns.map((c) => (
                    <span role="cell" key={c.key} className={c.numeric ? 'num' : undefined}>
                      {c.cell(row)}
                    </span>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
      </div>
      <p className="muted" aria-live="polite">
        {query.isPending ? 'Loading…' : `${rows.length}${query.hasNextPage ? '+' : ''} rows`}
      </p>
    </div>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
