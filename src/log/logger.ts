/**
 * Structured logging with pino. Secrets are redacted by path; caller data, prompts and transcripts
 * are never logged at info level (they may appear at debug only where a call site says so).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'apiKey',
  'clientSecret',
  'secret',
  'authorization',
  'headers["x-api-key"]',
  'headers.authorization',
  'headers.signature',
  '*.apiKey',
  '*.clientSecret',
  '*.authorization',
  'ani',
  'dnis',
  'aniName',
  '*.ani',
  '*.dnis',
  '*.aniName',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'audiohook-realtime' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
