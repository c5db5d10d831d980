import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { jsonText, useJsonText } from './json-writer';

describe('jsonText', () => {
  it('writes plain values as JSON.stringify does', () => {
    const value = { a: '1.5', b: [1, null, { c: true }], d: undefined };
    expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('writes a bigint anywhere in the value as its exact decimal string', () => {
    const value = { total_centicents: 123456789012345678901234567890n, rows: [{ amount: -5n }, 7n] };
    expect(JSON.parse(jsonText(value))).toEqual({
      total_centicents: '123456789012345678901234567890',
      rows: [{ amount: '-5' }, '7'],
    });
  });

  it('still throws on a value JSON cannot write for another reason (a cycle)', () => {
    const cyclic: Record<string, unknown> = { amount: 1n };
    cyclic.self = cyclic;
    expect(() => jsonText(cyclic)).toThrow(TypeError);
    expect(() => jsonText(cyclic)).toThrow(/circular/i);
  });
});

describe('useJsonText', () => {
  it("makes res.json of that application write bigints as decimal strings, with Express's content type and status", async () => {
    const app = express();
    useJsonText(app);
    app.get('/money', (_req, res) => {
      res.status(201).json({ amount_centicents: 9007199254740993n });
    });
    app.get('/typed', (_req, res) => {
      res.type('application/problem+json').json({ code: 'X' });
    });
    const money = await request(app).get('/money');
    expect(money.status).toBe(201);
    expect(money.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(money.text).toBe('{"amount_centicents":"9007199254740993"}');
    const typed = await request(app).get('/typed');
    expect(typed.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(typed.body).toEqual({ code: 'X' });
    // another Express application keeps Express's own res.json (the patch is per application)
    const other = express();
    other.get('/money', (_req, res) => {
      res.json({ amount: 1n });
    });
    expect((await request(other).get('/money')).status).toBe(500);
  });
});
