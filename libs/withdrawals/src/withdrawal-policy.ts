import { ROLES, type Role } from '@app/db';
import { parseCenticents } from '@app/money';

/** One approval tier: applies to amounts >= minAmount (up to the next tier's minimum). */
export interface ApprovalTier {
  minAmountCenticents: bigint;
  /** Distinct approvers needed (the requester never counts). */
  approvalsRequired: number;
  /** Each role listed must be held by at least one of those approvers (e.g. ['admin']). */
  rolesRequired: Role[];
}

export interface WithdrawalPolicyTerms {
  tiers: ApprovalTier[];
  expirySeconds: number;
  reserveFloorCenticents: bigint;
  capCenticents: bigint;
}

export interface WithdrawalPolicyVersion extends WithdrawalPolicyTerms {
  version: number;
}

/** The policy as stored in jsonb (the request's snapshot): bigint as decimal strings. */
export interface PolicySnapshotJson {
  version: number;
  tiers: Array<{ min_amount_centicents: string; approvals_required: number; roles_required: Role[] }>;
  expiry_seconds: number;
  reserve_floor_centicents: string;
  cap_centicents: string;
}

const USD = 10_000n;

/** 1 approver below $100,000; 2 from $100,000; 2 including an admin from $1,000,000; 24 h expiry. */
export function defaultPolicyTerms(capCenticents: bigint): WithdrawalPolicyTerms {
  return {
    tiers: [
      { minAmountCenticents: 0n, approvalsRequired: 1, rolesRequired: [] },
      { minAmountCenticents: 100_000n * USD, approvalsRequired: 2, rolesRequired: [] },
      { minAmountCenticents: 1_000_000n * USD, approvalsRequired: 2, rolesRequired: ['admin'] },
    ],
    expirySeconds: 86_400,
    reserveFloorCenticents: 0n,
    capCenticents,
  };
}

/** Problems that make a policy unusable, for a person; empty when it is valid. */
export function policyProblems(terms: WithdrawalPolicyTerms): string[] {
  const problems: string[] = [];
  if (terms.tiers.length === 0) problems.push('tiers: at least one tier is required');
  if (terms.tiers.length > 0 && terms.tiers[0].minAmountCenticents !== 0n) {
    problems.push('tiers[0].min_amount_centicents: the first tier must start at 0 so that every amount has a tier');
  }
  terms.tiers.forEach((tier, i) => {
    if (i > 0 && tier.minAmountCenticents <= terms.tiers[i - 1].minAmountCenticents) {
      problems.push(`tiers[${i}].min_amount_centicents: tiers must be in strictly increasing order of minimum amount`);
    }
    if (i > 0 && tier.approvalsRequired < terms.tiers[i - 1].approvalsRequired) {
      problems.push(`tiers[${i}].approvals_required: a larger amount cannot need fewer approvers than a smaller one`);
    }
    if (!Number.isInteger(tier.approvalsRequired) || tier.approvalsRequired < 1 || tier.approvalsRequired > 10) {
      problems.push(`tiers[${i}].approvals_required: an integer from 1 to 10`);
    }
    if (new Set(tier.rolesRequired).size !== tier.rolesRequired.length) problems.push(`tiers[${i}].roles_required: a role is listed twice`);
    if (tier.rolesRequired.length > tier.approvalsRequired) {
      problems.push(`tiers[${i}].roles_required: more required roles than approvers`);
    }
  });
  if (terms.capCenticents <= 0n) problems.push('cap_centicents: must be positive');
  if (terms.reserveFloorCenticents < 0n) problems.push('reserve_floor_centicents: must not be negative');
  if (!Number.isInteger(terms.expirySeconds) || terms.expirySeconds < 60 || terms.expirySeconds > 30 * 86_400) {
    problems.push('expiry_seconds: an integer from 60 (one minute) to 2592000 (30 days)');
  }
  return problems;
}

export function tierFor(terms: WithdrawalPolicyTerms, amount: bigint): ApprovalTier {
  let chosen = terms.tiers[0];
  for (const tier of terms.tiers) if (amount >= tier.minAmountCenticents) chosen = tier;
  return chosen;
}

export interface CountedApproval {
  approverId: string;
  /** The approver's roles as they are now (a role taken away no longer counts). */
  roles: readonly Role[];
}

export interface ApprovalProgress {
  approvals: number;
  required: number;
  rolesRequired: Role[];
  rolesMissing: Role[];
  satisfied: boolean;
}

/** Whether distinct approvers with the roles they hold satisfy a tier. Duplicates count once. */
export function approvalProgress(tier: ApprovalTier, approvals: readonly CountedApproval[]): ApprovalProgress {
  const byApprover = new Map<string, readonly Role[]>();
  for (const a of approvals) if (a.roles.includes('approver')) byApprover.set(a.approverId, a.roles);
  const held = new Set([...byApprover.values()].flat());
  const rolesMissing = tier.rolesRequired.filter((r) => !held.has(r));
  return {
    approvals: byApprover.size,
    required: tier.approvalsRequired,
    rolesRequired: [...tier.rolesRequired],
    rolesMissing,
    satisfied: byApprover.size >= tier.approvalsRequired && rolesMissing.length === 0,
  };
}

export function policyToSnapshot(policy: WithdrawalPolicyVersion): PolicySnapshotJson {
  return {
    version: policy.version,
    tiers: policy.tiers.map((t) => ({
      min_amount_centicents: t.minAmountCenticents.toString(),
      approvals_required: t.approvalsRequired,
      roles_required: [...t.rolesRequired],
    })),
    expiry_seconds: policy.expirySeconds,
    reserve_floor_centicents: policy.reserveFloorCenticents.toString(),
    cap_centicents: policy.capCenticents.toString(),
  };
}

export function policyFromSnapshot(json: PolicySnapshotJson): WithdrawalPolicyVersion {
  return {
    version: json.version,
    tiers: json.tiers.map((t) => ({
      minAmountCenticents: parseCenticents(t.min_amount_centicents),
      approvalsRequired: t.approvals_required,
      rolesRequired: t.roles_required.filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
    })),
    expirySeconds: json.expiry_seconds,
    reserveFloorCenticents: parseCenticents(json.reserve_floor_centicents),
    capCenticents: parseCenticents(json.cap_centicents),
  };
}
