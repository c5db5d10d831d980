import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Keyring } from './keyring';

describe('Keyring', () => {
  it('signs with the current key, verifies with any key of the ring, one derived key per purpose', () => {
    const old = randomBytes(32);
    const current = randomBytes(32);
    const signedBefore = new Keyring(old).sign('audit-row', '1.abc');
    const ring = new Keyring(current, [old]);
    expect(ring.verify('audit-row', signedBefore.keyId, '1.abc', signedBefore.mac)).toBe('valid');
    expect(ring.verify('audit-row', signedBefore.keyId, '1.abd', signedBefore.mac)).toBe('invalid');
    expect(ring.verify('audit-checkpoint', signedBefore.keyId, '1.abc', signedBefore.mac)).toBe('invalid');
    expect(new Keyring(current).verify('audit-row', signedBefore.keyId, '1.abc', signedBefore.mac)).toBe('unknown_key');
    const now = ring.sign('audit-row', '2.def');
    expect(now.keyId).toBe(ring.currentKeyId);
    expect(now.keyId).not.toBe(signedBefore.keyId);
    expect(ring.verify('audit-row', now.keyId, '2.def', 'not hex')).toBe('invalid');
  });

  it('never uses the AES key itself as the MAC key, and opens secrets sealed with a previous key', () => {
    const old = randomBytes(32);
    const sealed = new Keyring(old).secretBox().seal('secret', 'ctx');
    expect(new Keyring(randomBytes(32), [old]).secretBox().open(sealed, 'ctx')).toBe('secret');
    expect(Keyring.fromConfig({ secretsKey: undefined, secretsKeysPrevious: [] })).toBeNull();
  });
});
