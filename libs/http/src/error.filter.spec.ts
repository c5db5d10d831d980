import { describe, expect, it } from '@jest/globals';
import { BusinessRuleViolation, Conflict, DomainError, ERROR_KINDS, InvalidInput, NotFound, TooManyRequests } from '@app/errors';
import { ErrorFilter, KIND_STATUS } from './error.filter';

describe('ErrorFilter', () => {
  const filter = new ErrorFilter();

  it('answers each kind of domain error with its status, the code, message and details unchanged', () => {
    expect(ERROR_KINDS.map((kind) => [kind, filter.toBody(new DomainError('SOME_CODE', kind, 'what happened', { a: 1 })).status])).toEqual([
      ['invalid', 400],
      ['unauthenticated', 401],
      ['forbidden', 403],
      ['not_found', 404],
      ['conflict', 409],
      ['too_large', 413],
      ['rule_violated', 422],
      ['throttled', 429],
      ['unavailable', 503],
    ]);
    expect(Object.keys(KIND_STATUS).sort()).toEqual([...ERROR_KINDS].sort());
    expect(filter.toBody(new DomainError('SOME_CODE', 'conflict', 'what happened', { a: 1 })).body).toEqual({
      code: 'SOME_CODE',
      message: 'what happened',
      details: { a: 1 },
    });
  });

  it('keeps the statuses and codes the API has always answered for the common errors', () => {
    expect(filter.toBody(new NotFound('withdrawal', '7'))).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'withdrawal 7 does not exist', details: undefined },
    });
    expect(filter.toBody(new InvalidInput('amount: bad', [{ field: 'amount', problems: ['bad'] }])).status).toBe(400);
    expect(filter.toBody(new InvalidInput('amount: bad')).body.code).toBe('VALIDATION_FAILED');
    expect(filter.toBody(new Conflict('X_CHANGED', 'changed')).status).toBe(409);
    expect(filter.toBody(new BusinessRuleViolation('HEADROOM_EXCEEDED', 'over')).status).toBe(422);
    expect(filter.toBody(new TooManyRequests('slow down', 7))).toEqual({
      status: 429,
      body: { code: 'TOO_MANY_REQUESTS', message: 'slow down', details: { retry_after_seconds: 7 } },
    });
  });
});
