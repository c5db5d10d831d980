import { describe, expect, it } from '@jest/globals';
import { actionAllowed, requiredReference, statusAfter } from './break-transitions';

describe('break transitions', () => {
  it('acknowledges only an open break', () => {
    expect(actionAllowed('acknowledge', 'open')).toBe(true);
    expect(actionAllowed('acknowledge', 'acknowledged')).toBe(false);
    expect(actionAllowed('acknowledge', 'closed')).toBe(false);
  });

  it('sends a write-off to pending_write_off and any other resolution straight to resolved', () => {
    expect(statusAfter('resolve', 'acknowledged', 'write_off')).toBe('pending_write_off');
    expect(statusAfter('resolve', 'open', 'timing')).toBe('resolved');
    expect(statusAfter('cosign', 'pending_write_off')).toBe('resolved');
  });

  it('refuses to resolve a break twice or to co-sign what is not waiting for it', () => {
    expect(actionAllowed('resolve', 'resolved')).toBe(false);
    expect(actionAllowed('resolve', 'pending_write_off')).toBe(false);
    expect(actionAllowed('cosign', 'open')).toBe(false);
  });

  it('lets people comment on closed breaks but not reassign them', () => {
    expect(actionAllowed('comment', 'closed')).toBe(true);
    expect(actionAllowed('assign', 'closed')).toBe(false);
  });

  it('requires a ledger entry for adjustments and a ticket for Klear errors, nothing for timing', () => {
    expect(requiredReference('adjustment_booked')).toMatch(/external_id/);
    expect(requiredReference('klear_error')).toMatch(/ticket/);
    expect(requiredReference('timing')).toBeNull();
    expect(requiredReference('write_off')).toBeNull();
  });
});
