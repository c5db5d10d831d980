import { useQuery } from '@tanstack/react-query';
import { get, qs } from '../api';
import { CursorTable, ErrorNote, Page, Time } from '../components';
import { useRoute } from '../router';

interface AuditRow {
  seq: string;
  occurred_at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  to: string | null;
}

interface ChainStatus {
  ok: boolean;
  checked: number;
  firstBrokenSeq: string | null;
  problem: string | null;
  anchor: { seq: string } | null;
  checkpoint: { id: string; seq: string; kind: string; verifiedAt: string } | null;
}

/** The chain verification in words: through which row, from which checkpoint, or where it breaks. */
function ChainVerdict({ chain }: { chain: ChainStatus }) {
  if (!chain.ok) {
    return (
      <strong role="alert">
        The audit chain does not verify from row {chain.firstBrokenSeq}: {chain.problem}
      </strong>
    );
  }
  const through = chain.anchor ? `through row ${chain.anchor.seq}` : '(the log is empty)';
  return (
    <span>
      Verified {through}
      {chain.checkpoint ? (
        <>
          {' '}
          ({chain.checked} row(s) after checkpoint {chain.checkpoint.id}, a {chain.checkpoint.kind} verification up to row {chain.checkpoint.seq} at{' '}
          <Time iso={chain.checkpoint.verifiedAt} />)
        </>
      ) : (
        <> ({chain.checked} row(s) from the first)</>
      )}
      .
    </span>
  );
}

export default function AuditPage() {
  const { query } = useRoute();
  const entity = query.get('entity') ?? '';
  const chain = useQuery({ queryKey: ['audit-chain'], queryFn: () => get<{ chain: ChainStatus }>(`/audit${qs({ limit: 1 })}`) });
  return (
    <Page title="Audit">
      <ErrorNote error={chain.error} />
      <p>
        Chain verification: {chain.data ? <ChainVerdict chain={chain.data.chain} /> : '…'}
      </p>
      <CursorTable<AuditRow>
        label="Audit log"
        queryKey={['audit', entity]}
        path={(cursor) => `/audit${qs({ cursor, limit: 200, entity: entity || undefined })}`}
        rowKey={(r) => r.seq}
        columns={[
          { key: 'seq', header: 'Seq', width: '5rem', numeric: true, cell: (r) => r.seq },
          { key: 'at', header: 'When', width: '12rem', cell: (r) => <Time iso={r.occurred_at} /> },
          { key: 'actor', header: 'Actor', width: '9rem', cell: (r) => r.actor },
          { key: 'action', header: 'Action', width: 'minmax(10rem, 1fr)', cell: (r) => r.action },
          { key: 'entity', header: 'Entity', width: '12rem', cell: (r) => `${r.entity} ${r.entity_id.slice(0, 8)}` },
        ]}
      />
    </Page>
  );
}
