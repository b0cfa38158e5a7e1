import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Request bodies are never logged; the redaction list is a second net for
 * credentials and card numbers that a careless log call might pass.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'cardlink' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'pan',
          '*.pan',
          '*.*.pan',
          'password',
          '*.password',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers.cookie',
          '*.api_key',
          '*.client_secret',
          '*.signing_secret',
          '*.webhook_secret',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
