import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { WithdrawalPolicy } from '@app/db';
import { Conflict, InvalidInput } from '@app/errors';
import {
  defaultPolicyTerms,
  policyFromSnapshot,
  policyProblems,
  policyToSnapshot,
  type WithdrawalPolicyTerms,
  type WithdrawalPolicyVersion,
} from './withdrawal-policy';
import { WithdrawalPolicyRepository } from './withdrawal-policy.repository';
import type { WithdrawalTx } from './withdrawal.repository';

export interface StoredPolicy extends WithdrawalPolicyVersion {
  createdAt: Date;
  createdBy: string;
}

function fromRow(row: WithdrawalPolicy): StoredPolicy {
  const terms = policyFromSnapshot({
    version: row.version,
    tiers: row.tiers as never,
    expiry_seconds: row.expirySeconds,
    reserve_floor_centicents: row.reserveFloorCenticents.toString(),
    cap_centicents: row.capCenticents.toString(),
  });
  return { ...terms, createdAt: row.createdAt, createdBy: row.createdBy };
}

/** The versioned withdrawal policy. The highest version is in force; each request keeps a snapshot. */
@Injectable()
export class WithdrawalPolicyService {
  constructor(
    private readonly repository: WithdrawalPolicyRepository,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** The policy in force; the default one is created (and audited) at the first read. */
  async current(m?: WithdrawalTx): Promise<StoredPolicy> {
    const row = await this.repository.latest(m);
    if (row) return fromRow(row);
    return this.repository.transaction(async (tx) => {
      await this.repository.lockForWriting(tx);
      const again = await this.repository.latest(tx);
      if (again) return fromRow(again);
      return this.insertVersion(
        tx,
        1,
        defaultPolicyTerms(this.config.withdrawals.defaultCapCenticents),
        'system',
        'default policy seeded at first use',
        undefined,
      );
    });
  }

  /** Refuses terms that break a rule of the policy (400 naming each field). */
  validate(terms: WithdrawalPolicyTerms): void {
    const problems = policyProblems(terms);
    if (problems.length > 0) {
      throw new InvalidInput(
        problems.join(' | '),
        problems.map((p) => ({ field: p.split(':')[0], problems: [p.slice(p.indexOf(':') + 2)] })),
      );
    }
  }

  /**
   * A new version, inside the caller's transaction: only ever from an approved dual-control proposal
   * (AdminProposals). `basedOnVersion`: the version the proposal was made against; a policy changed
   * since then refuses it (the approver approved a change to what they saw).
   */
  async replaceWithin(
    m: WithdrawalTx,
    terms: WithdrawalPolicyTerms,
    actor: string,
    reason: string,
    requestBody: unknown,
    basedOnVersion: number,
  ): Promise<StoredPolicy> {
    this.validate(terms);
    await this.repository.lockForWriting(m);
    const last = await this.repository.latest(m);
    if ((last?.version ?? 0) !== basedOnVersion) {
      throw new Conflict(
        'POLICY_CHANGED_SINCE_PROPOSAL',
        `the policy is at version ${last?.version ?? 0}, the proposal was made against version ${basedOnVersion}: propose again`,
        {
          current_version: last?.version ?? 0,
          based_on_version: basedOnVersion,
        },
      );
    }
    return this.insertVersion(m, (last?.version ?? 0) + 1, terms, actor, reason, requestBody, last ? fromRow(last) : undefined);
  }

  private async insertVersion(
    m: WithdrawalTx,
    version: number,
    terms: WithdrawalPolicyTerms,
    actor: string,
    reason: string,
    requestBody: unknown,
    previous?: StoredPolicy,
  ): Promise<StoredPolicy> {
    const snapshot = policyToSnapshot({ ...terms, version });
    const row = await this.repository.insert(m, {
      version,
      tiers: snapshot.tiers,
      expirySeconds: terms.expirySeconds,
      reserveFloorCenticents: terms.reserveFloorCenticents,
      capCenticents: terms.capCenticents,
      createdAt: this.clock.now(),
      createdBy: actor,
    });
    await this.audit.record(
      {
        actor,
        action: 'withdrawal_policy.version',
        entityType: 'withdrawal_policy',
        entityId: String(version),
        fromState: previous ? `v${previous.version}` : null,
        toState: `v${version}`,
        reason,
        details: { policy: snapshot, previous: previous ? policyToSnapshot(previous) : null },
        requestBody,
      },
      m,
    );
    return fromRow(row);
  }
}
