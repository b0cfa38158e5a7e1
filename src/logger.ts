import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Standard output, written in chunks of at least 4 KiB (and at least every 200 ms) rather than one write
 * per line: at a few thousand requests a second the per-line write was ~4% of the API's CPU. pino flushes
 * what is buffered when the process exits, also on a crash; a SIGKILL can lose the last 200 ms of lines.
 */
function bufferedStdout(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), 200).unref();
  return stream;
}

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
    destination ?? bufferedStdout(),
  );
}
