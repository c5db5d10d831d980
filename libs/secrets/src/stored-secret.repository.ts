import { StoredSecret } from '@app/db';
import type { DataSource, EntityManager } from 'typeorm';
import type { SecretBox } from './secret-box';

/** Secrets at rest: sealed by a SecretBox on the way in, opened on the way out. */
export class StoredSecretRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
  ) {}

  /** Stores (or replaces) the secret `name`. Pass the transaction's manager to write inside it. */
  async put(name: string, plaintext: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(StoredSecret)
      .values({ name, keyId: this.box.currentKeyId, sealed: this.box.seal(plaintext, name) })
      .orUpdate(['key_id', 'sealed', 'updated_at'], ['name'])
      .execute();
  }

  /** The clear secret, or undefined when none is stored. Throws SecretBoxError when it cannot be opened. */
  async get(name: string): Promise<string | undefined> {
    const row = await this.dataSource.getRepository(StoredSecret).findOneBy({ name });
    return row ? this.box.open(row.sealed, name) : undefined;
  }

  async delete(name: string, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const result = await manager.getRepository(StoredSecret).delete({ name });
    return (result.affected ?? 0) > 0;
  }

  /** Re-seals with the current key every row sealed with an older one; returns how many. */
  async resealWithCurrentKey(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await manager
        .getRepository(StoredSecret)
        .createQueryBuilder('s')
        .setLock('pessimistic_write')
        .where('s.key_id <> :current', { current: this.box.currentKeyId })
        .getMany();
      for (const row of rows) await this.put(row.name, this.box.open(row.sealed, row.name), manager);
      return rows.length;
    });
  }
}
