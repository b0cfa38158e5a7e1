import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, type LogFormat } from '../src/logger.ts';

const collect = () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { sink, text: () => lines.join('') };
};

describe('log format', () => {
  it.each<[string, boolean, boolean, LogFormat]>([
    ['development', true, true, 'pretty'],
    ['development', false, true, 'json'],
    ['development', true, false, 'json'],
    ['production', true, true, 'json'],
    ['test', true, true, 'json'],
  ])('NODE_ENV=%s, terminal %s, pino-pretty installed %s: %s', (nodeEnv, isTTY, installed, format) => {
    expect(chooseLogFormat(nodeEnv, isTTY, installed)).toBe(format);
  });

  it('pretty lines are readable and still redact card numbers', () => {
    const { sink, text } = collect();
    createLogger('info', sink, 'pretty').info({ pan: '4111111111111111', port: 3000 }, 'cardlink started');
    expect(text()).toMatch(/INFO.*cardlink started/);
    expect(text()).toContain('port: 3000');
    expect(text()).not.toContain('4111111111111111');
    expect(() => JSON.parse(text())).toThrow();
  });

  it('JSON is the default', () => {
    const { sink, text } = collect();
    createLogger('info', sink).info({ port: 3000 }, 'cardlink started');
    expect(JSON.parse(text())).toMatchObject({ level: 30, msg: 'cardlink started', port: 3000 });
  });
});
