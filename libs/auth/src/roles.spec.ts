import { describe, expect, it } from '@jest/globals';
import { parseRoles, rolesAllow } from './roles';
import { generateApiToken, hashApiToken, looksLikeApiToken } from './token-hash';

describe('roles', () => {
  it('lets every role read viewer routes but never implies operator, approver or admin', () => {
    expect(rolesAllow(['viewer'], ['approver'])).toBe(true);
    expect(rolesAllow(['viewer'], [])).toBe(false);
    expect(rolesAllow(['operator'], ['admin'])).toBe(false);
    expect(rolesAllow(['approver'], ['operator', 'viewer'])).toBe(false);
    expect(rolesAllow(['operator', 'admin'], ['admin'])).toBe(true);
  });

  it('parses a comma-separated role list and rejects unknown roles', () => {
    expect(parseRoles('operator, viewer,operator')).toEqual(['operator', 'viewer']);
    expect(() => parseRoles('root')).toThrow(/unknown: root/);
    expect(() => parseRoles('')).toThrow(/comma-separated/);
  });
});

describe('API tokens', () => {
  it('are random, prefixed, and stored only as a SHA-256 hash', () => {
    const a = generateApiToken();
    const b = generateApiToken();
    expect(a).not.toBe(b);
    expect(looksLikeApiToken(a)).toBe(true);
    expect(hashApiToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiToken(a)).not.toContain(a.slice(4, 12));
    expect(looksLikeApiToken('kso_short')).toBe(false);
  });
});
