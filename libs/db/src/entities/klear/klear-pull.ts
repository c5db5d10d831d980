import { Column, PrimaryGeneratedColumn } from 'typeorm';

/** The columns of every table that records one pull of a Klear endpoint: when, and the archived answer it came from. */
export abstract class KlearPull {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz', name: 'pulled_at' })
  pulledAt: Date;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;
}

/** A pull of one Klear user's figures. */
export abstract class KlearUserPull extends KlearPull {
  @Column({ type: 'text', name: 'user_id' })
  userId: string;
}
