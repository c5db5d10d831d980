import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { SecretBox, secretKeyId } from './secret-box';

/**
 * `retired_key`: the key id is one of the ring's retired ids (SECRETS_KEY_RETIRED_IDS: keys removed from the
 * ring, ids only), so the MAC cannot be checked; `unknown_key`: an id the ring has never known (a forgery).
 */
export type MacCheck = 'valid' | 'invalid' | 'retired_key' | 'unknown_key';

/**
 * The product's keys, all outside the database: SECRETS_KEY (current: seals secrets, signs MACs)
 * and SECRETS_KEY_PREVIOUS (older keys: still open secrets and verify MACs made with them).
 *
 * One key serves several purposes through derivation: HKDF-SHA256 with the purpose in its `info`
 * gives each purpose (`audit-row`, later `audit-checkpoint`, ...) its own MAC key, so a MAC made for
 * one purpose never verifies for another, and the AES key of the SecretBox is never used as an HMAC
 * key. A MAC names the key it was made with by the key's public id (a fingerprint, as in sealed secrets).
 */
export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(
    private readonly current: Buffer,
    private readonly previous: Buffer[] = [],
    /** The ids of keys retired from the ring (SECRETS_KEY_RETIRED_IDS): MACs made with them are no longer checked. */
    readonly retiredKeyIds: readonly string[] = [],
  ) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new RangeError('a keyring key must be 32 bytes');
      this.keys.set(secretKeyId(key), key);
    }
    this.currentKeyId = secretKeyId(current);
  }

  /** The keyring of a configuration, or null when no SECRETS_KEY is set (development). */
  static fromConfig(config: {
    secretsKey: Buffer | undefined;
    secretsKeysPrevious: Buffer[];
    secretsRetiredKeyIds?: string[];
  }): Keyring | null {
    return config.secretsKey ? new Keyring(config.secretsKey, config.secretsKeysPrevious, config.secretsRetiredKeyIds ?? []) : null;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** The box sealing stored secrets with the current key and opening them with any key of the ring. */
  secretBox(): SecretBox {
    return SecretBox.fromKeys(this.current, this.previous);
  }

  /** HMAC-SHA256 of `data` for `purpose` under the current key: `{ keyId, mac }` (hex). */
  sign(purpose: string, data: string): { keyId: string; mac: string } {
    return { keyId: this.currentKeyId, mac: macWith(this.keys.get(this.currentKeyId)!, purpose, data) };
  }

  /** Checks a MAC made by `sign` with the key `keyId` (current or previous). */
  verify(purpose: string, keyId: string, data: string, mac: string): MacCheck {
    const key = this.keys.get(keyId);
    if (!key) return this.retiredKeyIds.includes(keyId) ? 'retired_key' : 'unknown_key';
    const expected = Buffer.from(macWith(key, purpose, data), 'hex');
    const given = Buffer.from(/^[0-9a-f]{64}$/.test(mac) ? mac : '', 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'valid' : 'invalid';
  }
}

const derived = new WeakMap<Buffer, Map<string, Buffer>>();

function macWith(key: Buffer, purpose: string, data: string): string {
  let byPurpose = derived.get(key);
  if (!byPurpose) derived.set(key, (byPurpose = new Map()));
  let macKey = byPurpose.get(purpose);
  if (!macKey) byPurpose.set(purpose, (macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `klear-mac:${purpose}`, 32))));
  return createHmac('sha256', macKey).update(data, 'utf8').digest('hex');
}
