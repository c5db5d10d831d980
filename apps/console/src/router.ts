import { useSyncExternalStore } from 'react';

/**
 * Hash routes (#/queue, #/withdrawals/ID): the API serves the console at `/` and every REST route
 * keeps its path, so console locations never collide with API paths (a reload of
 * /withdrawals/ID would otherwise hit the JSON route).
 */
function subscribe(callback: () => void): () => void {
  window.addEventListener('hashchange', callback);
  return () => window.removeEventListener('hashchange', callback);
}

export function useRoute(): { path: string; parts: string[]; query: URLSearchParams } {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  const raw = hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  return { path, parts: path.split('/').filter(Boolean), query: new URLSearchParams(search) };
}

export function navigate(to: string): void {
  window.location.hash = to;
}
