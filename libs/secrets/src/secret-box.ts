import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const FORMAT = 'sb1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface SecretKey {
  /** Short public name of the key, written in every envelope it seals. */
  id: string;
  key: Buffer;
}

export type SecretBoxErrorCode = 'malformed' | 'unknown_key' | 'authentication_failed';

/** A sealed value that cannot be opened. Never quotes the envelope or any key material. */
export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** Key id derived from the key itself: a fingerprint, so two different keys never share an id. */
export function secretKeyId(key: Buffer): string {
  return `k${createHash('sha256').update('klear-secret-box-key-id').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * AES-256-GCM envelopes: `sb1.<key id>.<iv>.<ciphertext>.<tag>`, a random 12-byte IV per seal,
 * the format, key id and a caller-chosen context (such as the row name) authenticated as AAD, so
 * an envelope moved to another row or relabelled with another key id fails to open.
 * Seals with the current key; opens with the current key or any older one it was given (rotation).
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();

  constructor(
    private readonly current: SecretKey,
    previous: SecretKey[] = [],
  ) {
    for (const entry of [current, ...previous]) {
      if (entry.key.length !== KEY_BYTES) throw new RangeError('a SecretBox key must be 32 bytes');
      if (!KEY_ID.test(entry.id)) throw new RangeError('a key id is 1-32 characters of [A-Za-z0-9_-]');
      this.keys.set(entry.id, entry.key);
    }
  }

  /** A box with one key (SECRETS_KEY) and older keys still accepted for opening. */
  static fromKeys(key: Buffer, previousKeys: Buffer[] = []): SecretBox {
    return new SecretBox(
      { id: secretKeyId(key), key },
      previousKeys.map((k) => ({ id: secretKeyId(k), key: k })),
    );
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.current.id, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      FORMAT,
      this.current.id,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) throw new SecretBoxError('malformed', 'not a sealed secret of a known format');
    const [, keyId, ivText, ciphertextText, tagText] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new SecretBoxError('unknown_key', `sealed with key ${keyId}, which this box does not hold`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
      throw new SecretBoxError('malformed', 'sealed secret has a bad IV or tag length');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('authentication_failed', 'sealed secret failed authentication (tampered, wrong key or wrong context)');
    }
  }

  /** The key id an envelope names, without opening it. */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === FORMAT ? parts[1] : undefined;
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${FORMAT}.${keyId}.${context}`, 'utf8');
}
