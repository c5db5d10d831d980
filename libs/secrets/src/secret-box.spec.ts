import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { SecretBox, type SecretBoxError, secretKeyId } from './secret-box';

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 9);

function openError(box: SecretBox, sealed: string, context: string): SecretBoxError {
  try {
    box.open(sealed, context);
  } catch (error) {
    return error as SecretBoxError;
  }
  throw new Error('opened');
}

describe('SecretBox', () => {
  it('opens what it sealed, with the key id in clear and a fresh IV each time', () => {
    const box = SecretBox.fromKeys(key);
    const a = box.seal('sim-access-token', 'klear.credentials');
    const b = box.seal('sim-access-token', 'klear.credentials');
    expect(box.open(a, 'klear.credentials')).toBe('sim-access-token');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).toBe(secretKeyId(key));
    expect(a).not.toContain('sim-access-token');
    expect(SecretBox.keyIdOf(a)).toBe(box.currentKeyId);
  });

  it('round-trips unicode and empty secrets', () => {
    const box = SecretBox.fromKeys(randomBytes(32));
    for (const text of ['', 'pässwörd ✓ 🔑', 'x'.repeat(10_000)]) expect(box.open(box.seal(text, 'c'), 'c')).toBe(text);
  });

  it('detects a flipped ciphertext bit, a changed tag and a relabelled key id', () => {
    const box = SecretBox.fromKeys(key);
    const sealed = box.seal('secret value', 'ctx');
    const parts = sealed.split('.');
    const cipher = Buffer.from(parts[3], 'base64url');
    cipher[0] ^= 1;
    expect(openError(box, [parts[0], parts[1], parts[2], cipher.toString('base64url'), parts[4]].join('.'), 'ctx').code).toBe(
      'authentication_failed',
    );
    const tag = Buffer.from(parts[4], 'base64url');
    tag[15] ^= 0x80;
    expect(openError(box, [...parts.slice(0, 4), tag.toString('base64url')].join('.'), 'ctx').code).toBe('authentication_failed');
    const twoKeys = new SecretBox({ id: 'b', key }, [{ id: 'a', key }]);
    const sealedA = new SecretBox({ id: 'a', key }).seal('secret value', 'ctx');
    expect(openError(twoKeys, sealedA.replace('sb1.a.', 'sb1.b.'), 'ctx').code).toBe('authentication_failed');
  });

  it('refuses to open an envelope moved to another context', () => {
    const box = SecretBox.fromKeys(key);
    expect(openError(box, box.seal('secret', 'klear.credentials'), 'other.row').code).toBe('authentication_failed');
  });

  it('cannot open with a wrong key: unknown key id, or authentication failure under the same id', () => {
    const sealed = SecretBox.fromKeys(key).seal('secret', 'ctx');
    const wrong = openError(SecretBox.fromKeys(otherKey), sealed, 'ctx');
    expect(wrong.code).toBe('unknown_key');
    expect(wrong.message).not.toContain(key.toString('hex'));
    const sameId = new SecretBox({ id: secretKeyId(key), key: otherKey });
    expect(openError(sameId, sealed, 'ctx').code).toBe('authentication_failed');
  });

  it('opens envelopes of a previous key after rotation and seals with the new one', () => {
    const old = SecretBox.fromKeys(key);
    const sealed = old.seal('secret', 'ctx');
    const rotated = SecretBox.fromKeys(otherKey, [key]);
    expect(rotated.open(sealed, 'ctx')).toBe('secret');
    expect(SecretBox.keyIdOf(rotated.seal('secret', 'ctx'))).toBe(secretKeyId(otherKey));
  });

  it('rejects malformed envelopes and keys of the wrong size', () => {
    const box = SecretBox.fromKeys(key);
    expect(openError(box, 'plain text', 'ctx').code).toBe('malformed');
    expect(openError(box, `sb1.${box.currentKeyId}.AAAA.AAAA.AAAA`, 'ctx').code).toBe('malformed');
    expect(() => SecretBox.fromKeys(Buffer.alloc(16))).toThrow(RangeError);
  });
});
