import { useQuery } from '@tanstack/react-query';
import { get, qs } from '../api';
import { CursorTable, ErrorNote, Field, Page } from '../components';
import { formatCenticents } from '../money';
import { SubtraderCyclesChart } from '../charts/SubtraderCyclesChart';

type Row = Record<string, unknown> & { subtrader_id: string };

export default function SubtraderPage({ id }: { id?: string }) {
  if (!id) {
    return (
      <Page title="Subtraders">
        <CursorTable<Row>
          label="Subtraders"
          queryKey={['subtraders']}
          path={(cursor) => `/subtraders${qs({ cursor, limit: 500 })}`}
          rowKey={(r) => r.subtrader_id}
          columns={[
            { key: 'id', header: 'Subtrader', width: 'minmax(10rem, 1fr)', cell: (r) => <a href={`#/subtraders/${encodeURIComponent(r.subtrader_id)}`}>{r.subtrader_id}</a> },
            { key: 'in', header: 'In Klear', width: '7rem', cell: (r) => String(r.in_klear ?? '—') },
            { key: 'led', header: 'In ledger', width: '7rem', cell: (r) => String(r.in_ledger ?? '—') },
          ]}
        />
      </Page>
    );
  }
  return <SubtraderDetail id={id} />;
}

function SubtraderDetail({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['subtrader', id], queryFn: () => get<Row>(`/subtraders/${encodeURIComponent(id)}`) });
  return (
    <Page title={`Subtrader ${id}`}>
      <ErrorNote error={q.error} />
      <dl className="facts">
        {q.data &&
          Object.entries(q.data)
            .filter(([, v]) => v === null || typeof v !== 'object')
            .map(([k, v]) => (
              <Field key={k} label={k.replace(/_/g, ' ')}>
                {k.endsWith('_centicents') ? formatCenticents(v as string | null) : String(v ?? '—')}
              </Field>
            ))}
      </dl>
      <p>
        <a href={`#/breaks?status=&subtrader=${encodeURIComponent(id)}`}>Breaks of this subtrader</a>
      </p>
      <SubtraderCyclesChart id={id} />
    </Page>
  );
}
