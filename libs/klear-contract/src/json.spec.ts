import { describe, expect, it } from '@jest/globals';
import { parseKlearJson, stringifyKlearJson } from './json';
import { settlementBalanceResponseSchema } from './schemas';

describe('Klear JSON', () => {
  it('parses integers beyond 2^53 into exact bigints', () => {
    const parsed = parseKlearJson('{"a":9223372036854775807,"b":-9007199254740993}') as Record<string, unknown>;
    expect(parsed.a).toBe(9223372036854775807n);
    expect(parsed.b).toBe(-9007199254740993n);
  });

  it('round-trips bigints as bare JSON integers', () => {
    const text = stringifyKlearJson({ amount_centicents: -9007199254740993n, list: [1n, 'x', true, null], skipped: undefined });
    expect(text).toBe('{"amount_centicents":-9007199254740993,"list":[1,"x",true,null]}');
    expect(parseKlearJson(text)).toEqual({ amount_centicents: -9007199254740993n, list: [1n, 'x', true, null] });
  });

  it('makes a centicents field with a fraction or an exponent fail validation instead of rounding it', () => {
    for (const token of ['10.5', '1e3', '10.0']) {
      const parsed = parseKlearJson(`{"user_id":"u","balance_available_centicents":${token}}`);
      expect(settlementBalanceResponseSchema.safeParse(parsed).success).toBe(false);
    }
    const ok = parseKlearJson('{"user_id":"u","balance_available_centicents":1000}');
    expect(settlementBalanceResponseSchema.parse(ok).balance_available_centicents).toBe(1000n);
  });

  it('rejects malformed JSON with a SyntaxError', () => {
    expect(() => parseKlearJson('{"a":')).toThrow(SyntaxError);
  });

  it('writes strings and keys exactly as JSON.stringify would, whether plain or needing escapes', () => {
    const texts = [
      '',
      'ST-00001',
      'CRY-PERP-001',
      'a"b',
      'back\\slash',
      'tab\there',
      'line\nbreak',
      '\u0000\u001f\u007f',
      'caf\u00e9',
      '\u2028\u2029',
      '\ud800 lone',
      '\ud83d\ude00',
      '</script>',
      "it's ~ fine {}[]",
    ];
    for (const text of texts) {
      expect(stringifyKlearJson(text)).toBe(JSON.stringify(text));
      expect(stringifyKlearJson({ [text]: text, n: 1n, [`k${text}`]: [text, null, true] })).toBe(
        `{${JSON.stringify(text)}:${JSON.stringify(text)},"n":1,${JSON.stringify(`k${text}`)}:[${JSON.stringify(text)},null,true]}`,
      );
    }
  });
});
