import { Column } from 'typeorm';

/**
 * The columns of a change under two-person control: proposed by one person, decided (applied,
 * confirmed, rejected) by another. Each table's CHECK refuses a decision by the proposer.
 */
export abstract class TwoPersonDecision {
  @Column({ type: 'uuid', name: 'proposed_by' })
  proposedBy: string;

  @Column({ type: 'text', name: 'proposed_by_name' })
  proposedByName: string;

  @Column({ type: 'timestamptz', name: 'proposed_at' })
  proposedAt: Date;

  @Column({ type: 'uuid', name: 'decided_by', nullable: true })
  decidedBy: string | null;

  @Column({ type: 'text', name: 'decided_by_name', nullable: true })
  decidedByName: string | null;

  @Column({ type: 'timestamptz', name: 'decided_at', nullable: true })
  decidedAt: Date | null;

  @Column({ type: 'text', name: 'decision_reason', nullable: true })
  decisionReason: string | null;
}
