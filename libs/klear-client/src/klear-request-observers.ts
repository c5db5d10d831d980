/** One HTTP exchange with Klear as metrics see it: the endpoint (a template, never an id or a query), the status (or `error`), the seconds it took. */
export interface KlearRequestObservation {
  endpoint: string;
  method: string;
  status: number | 'error';
  seconds: number;
}

/**
 * Listeners told about every exchange with Klear in this process (the metrics registry, issue #19).
 * Never given a header, a body or a credential.
 */
export const klearRequestObservers = new Set<(observation: KlearRequestObservation) => void>();

export function observeKlearRequest(observation: KlearRequestObservation): void {
  for (const observer of klearRequestObservers) {
    try {
      observer(observation);
    } catch {
      // An observer never breaks a call.
    }
  }
}
