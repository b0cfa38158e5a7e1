import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ApiResponse, usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();

// Visa's test number: 16 digits, Luhn-valid. Sent wherever a caller can put text, it must come back nowhere.
const PAN = '4242424242424242';
const digitsOf = (text: string) => text.replace(/[^0-9]/g, '');

/** Everything the caller sees of an answer: status line aside, its headers and its body. */
const seen = (res: ApiResponse) => `${[...res.headers.entries()].flat().join(' ')} ${res.text}`;

describe('a card number sent anywhere a caller chooses text', () => {
  it.each([
    ['as a field name of a strict body, signed out', 'POST', '/v1/users', { raw: `{"${PAN}":1}` }],
    ['as a field name of the sign-in body', 'POST', '/v1/sessions', { raw: `{"${PAN}":1}` }],
    [
      'as a field name of an operator body',
      'POST',
      '/v1/merchants',
      { raw: `{"name":"x","mids":["1"],"${PAN}":1}` },
    ],
    [
      'as a value a schema message quotes',
      'POST',
      '/v1/merchants',
      { raw: `{"name":"x","mids":["1"],"mcc":"${PAN}"}` },
    ],
    ['in the request id header', 'GET', '/healthz', { headers: { 'x-request-id': PAN } }],
    ['in the request id of an error', 'GET', '/v1/apps', { headers: { 'x-request-id': PAN } }],
    ['in the query', 'GET', `/v1/processors?limit=${PAN}`, {}],
    ['in an unknown path', 'GET', `/v1/${PAN}`, {}],
    [
      'as a repeated OAuth parameter',
      'POST',
      '/oauth/token',
      {
        raw: `${PAN}=1&${PAN}=2&grant_type=client_credentials`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
    ],
  ])('%s: neither the answer nor the log repeats it', async (_where, method, path, options) => {
    const logsBefore = platform.logs.length;
    const asOperator = path.startsWith('/v1/merchants') || path.startsWith('/v1/processors');
    const res = asOperator
      ? await platform.http(method, path, { ...options, token: ADMIN_TOKEN })
      : await platform.http(method, path, options);
    expect(res.status).toBeLessThan(500);
    expect(digitsOf(seen(res))).not.toContain(PAN);
    await expect
      .poll(() => platform.logs.slice(logsBefore).some((line) => line.includes('"status"')))
      .toBe(true);
    expect(digitsOf(platform.logs.slice(logsBefore).join('\n'))).not.toContain(PAN);
  });
});
