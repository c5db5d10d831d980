import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A secret kept at rest encrypted (AES-256-GCM by SecretBox of `@app/secrets`): only the sealed
 * envelope is stored, never the clear value. `key_id` names the key that sealed it, so rows sealed
 * with an older key can be found and re-sealed after a key rotation.
 */
@Entity({ name: 'stored_secret' })
export class StoredSecret {
  /** What the secret is for, e.g. `klear.credentials`; also bound into the ciphertext (AAD). */
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ type: 'text', name: 'key_id' })
  keyId: string;

  /** `sb1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts). */
  @Column({ type: 'text' })
  sealed: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt: Date;
}
