import { BusinessRuleViolation, Conflict, DomainError, InvalidInput } from '@app/errors';

export class CycleNotIngested extends BusinessRuleViolation {
  constructor(cycle: string) {
    super('CYCLE_NOT_INGESTED', `no Klear obligation with execution_time ${cycle} has been ingested`, { cycle });
  }
}

/** An active obligation of the open cycle is held, but the cycle has not executed: nothing is final to reconcile yet. */
export class CycleNotExecuted extends BusinessRuleViolation {
  constructor(cycle: string) {
    super('CYCLE_NOT_EXECUTED', `the cycle at ${cycle} has not executed yet: its obligation is still open (the projected run covers it)`, {
      cycle,
    });
  }
}

export class NoEstimateSnapshot extends BusinessRuleViolation {
  constructor(assetClass?: string) {
    super(
      'NO_ESTIMATE_SNAPSHOT',
      assetClass === undefined
        ? 'no settlement estimate has been ingested yet: nothing to project'
        : `the latest settlement estimate has no ${assetClass} estimate: nothing to project for ${assetClass}`,
      assetClass === undefined ? undefined : { asset_class: assetClass },
    );
  }
}

/**
 * The run's breaks do not add up to the totals' difference for some subtrader: a defect in the
 * reconciliation itself. The run is recorded as failed and nothing it found is kept.
 */
export class ExplainabilityViolated extends Error {
  constructor(readonly violations: Array<Record<string, string>>) {
    super(`explainability violated for ${violations.length} subtrader(s): ${JSON.stringify(violations.slice(0, 5))}`);
    this.name = 'ExplainabilityViolated';
  }
}

export class BreakTransitionNotAllowed extends Conflict {
  constructor(action: string, status: string) {
    super('BREAK_TRANSITION_NOT_ALLOWED', `cannot ${action} a break that is ${status}`, { action, status });
  }
}

export class ResolutionReferenceRequired extends InvalidInput {
  constructor(reason: string, what: string) {
    super(`reference: a ${reason} resolution needs ${what}`, [{ field: 'reference', problems: [`required for ${reason}: ${what}`] }]);
  }
}

export class UnknownLedgerEntry extends BusinessRuleViolation {
  constructor(externalId: string) {
    super('UNKNOWN_LEDGER_ENTRY', `no ledger entry with external_id ${externalId}: book the adjustment first`, { external_id: externalId });
  }
}

export class CosignerMustDiffer extends DomainError {
  constructor() {
    super('COSIGN_BY_PROPOSER', 'forbidden', 'a write-off is co-signed by an approver other than the person who proposed it');
  }
}

/** The difference a write-off proposal or co-sign names is not the break's figure (it changed, or it was misread). */
export class BreakFiguresChanged extends Conflict {
  constructor(named: string, current: string, proposed: string | null) {
    super(
      'BREAK_FIGURES_CHANGED',
      `the break's difference is ${current}${proposed !== null && proposed !== current ? ` (proposed for write-off: ${proposed})` : ''}, not ${named}: look at its figures again`,
      { named_difference_centicents: named, difference_centicents: current, write_off_difference_centicents: proposed },
    );
  }
}

export class DifferenceRequired extends InvalidInput {
  constructor(what: string) {
    super(`difference_centicents: ${what} names the difference it signs for`, [
      { field: 'difference_centicents', problems: [`required to ${what}`] },
    ]);
  }
}

/** An assignee must be a real, enabled user, named by id or name: free text ("me") would be lost work. */
export class UnknownAssignee extends InvalidInput {
  constructor(assignee: string) {
    super(
      `assignee: no enabled user has the id or name ${JSON.stringify(assignee)}`,
      [{ field: 'assignee', problems: ['must be the id or name of an enabled user (GET /users)'] }],
      'UNKNOWN_ASSIGNEE',
    );
  }
}
