import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect } from 'react';
import { ApiError, api, get, setCsrfToken } from './api';
import { navigate, useRoute } from './router';
import { SessionContext, type SessionInfo } from './session';
import { cursorPageQuery } from './components';
import BreaksPage, { breakFilters, breaksPath } from './pages/Breaks';
import QueuePage, { pendingQuery } from './pages/Queue';
import { SignIn } from './pages/SignIn';

// The two pages people open first are in the main bundle (no second round trip); the rest load on demand.

const WithdrawalPage = lazy(() => import('./pages/Withdrawal'));
const TodayPage = lazy(() => import('./pages/Today'));
const BreakPage = lazy(() => import('./pages/Break'));
const SubtraderPage = lazy(() => import('./pages/Subtrader'));
const RunsPage = lazy(() => import('./pages/Runs'));
const WorkbooksPage = lazy(() => import('./pages/Workbooks'));
const JobsPage = lazy(() => import('./pages/Jobs'));
const AuditPage = lazy(() => import('./pages/Audit'));
const AdminPage = lazy(() => import('./pages/Admin'));
const NotificationsPage = lazy(() => import('./pages/Notifications'));

const NAV: Array<[string, string]> = [
  ['/today', 'Today'],
  ['/queue', 'Approvals'],
  ['/withdrawals', 'Withdrawals'],
  ['/breaks', 'Breaks'],
  ['/subtraders', 'Subtraders'],
  ['/runs', 'Runs'],
  ['/workbooks', 'Workbooks'],
  ['/jobs', 'Jobs'],
  ['/audit', 'Audit'],
  ['/admin', 'Administration'],
  ['/notifications', 'Notifications'],
];

/**
 * Starts the opening page's data request at once, beside GET /session (a GET needs no CSRF token; a
 * signed-out person gets a 401 that is simply dropped): the page renders without a second round trip.
 */
function prefetchOpeningPage(client: QueryClient): void {
  const raw = window.location.hash.replace(/^#/, '') || '/queue';
  const [path, search = ''] = raw.split('?');
  if (path === '/queue' || path === '/') void client.prefetchQuery(pendingQuery);
  if (path === '/breaks') void client.prefetchInfiniteQuery(cursorPageQuery(['breaks', breakFilters(new URLSearchParams(search))], breaksPath(breakFilters(new URLSearchParams(search)))));
}

let prefetched = false;

export function App() {
  const client = useQueryClient();
  if (!prefetched) {
    prefetched = true;
    prefetchOpeningPage(client);
  }
  const session = useQuery<SessionInfo | null>({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        return await get<SessionInfo>('/session');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
  });
  useEffect(() => setCsrfToken(session.data?.csrf_token ?? null), [session.data]);

  if (session.isPending) return <p className="loading">Loading…</p>;
  if (!session.data) return <SignIn onSignedIn={(s) => client.setQueryData(['session'], s)} />;
  const signOut = () => {
    void api('DELETE', '/session').finally(() => {
      setCsrfToken(null);
      client.clear();
      client.setQueryData(['session'], null);
    });
  };
  return (
    <SessionContext.Provider value={{ session: session.data, signOut }}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const { path, parts } = useRoute();
  useEffect(() => {
    if (path === '/') navigate('/queue');
  }, [path]);
  const section = `/${parts[0] ?? ''}`;
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Klear ops</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <a href={`#${to}`} aria-current={section === to ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <UserMenu />
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="loading">Loading…</p>}>{page(parts)}</Suspense>
      </main>
    </>
  );
}

function UserMenu() {
  return (
    <SessionContext.Consumer>
      {(ctx) =>
        ctx && (
          <div className="user">
            <span>
              {ctx.session.user.name} <small>({ctx.session.user.roles.join(', ')})</small>
            </span>
            <button type="button" onClick={ctx.signOut}>
              Sign out
            </button>
          </div>
        )
      }
    </SessionContext.Consumer>
  );
}

function page(parts: string[]) {
  switch (parts[0]) {
    case 'queue':
      return <QueuePage />;
    case 'withdrawals':
      return <WithdrawalPage id={parts[1]} />;
    case 'today':
      return <TodayPage />;
    case 'breaks':
      return parts[1] ? <BreakPage id={parts[1]} /> : <BreaksPage />;
    case 'subtraders':
      return <SubtraderPage id={parts[1] ? decodeURIComponent(parts[1]) : undefined} />;
    case 'runs':
      return <RunsPage />;
    case 'workbooks':
      return <WorkbooksPage />;
    case 'jobs':
      return <JobsPage />;
    case 'audit':
      return <AuditPage />;
    case 'admin':
      return <AdminPage />;
    case 'notifications':
      return <NotificationsPage />;
    default:
      return <QueuePage />;
  }
}
