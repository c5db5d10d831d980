import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles whose grant is dual-controlled (a proposal a second admin approves) and that a service account never holds. */
export const PRIVILEGED_ROLES: readonly Role[] = ['approver', 'admin'];

/** A person (arrives by invitation, makes their own tokens) or a service account (a script: no approver, no admin). */
export const USER_KINDS = ['person', 'service'] as const;
export type UserKind = (typeof USER_KINDS)[number];

/** A person or script that calls the clearing-ops API. */
@Entity({ name: 'app_user' })
@Check('app_user_kind_known', `"kind" IN ('person','service')`)
@Check('app_user_service_unprivileged', `"kind" = 'person' OR NOT ("roles" && ARRAY['approver','admin']::text[])`)
export class AppUser {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', unique: true })
  name: string;

  @Column({ type: 'text', array: true })
  roles: Role[];

  @Column({ type: 'text', default: 'person' })
  kind: UserKind;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @Column({ type: 'timestamptz', name: 'disabled_at', nullable: true })
  disabledAt: Date | null;
}
