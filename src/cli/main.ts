#!/usr/bin/env node
/**
 * audiohook-realtime command line: `serve` (production), `emulator` (offline Realtime stand-in),
 * `demo` (bridge + emulator + a replayed call, no keys needed) and `replay` (act as Genesys).
 * The commands live in commands.ts; this wrapper gives them the real process and exits with their code.
 */
import { runCommand, SERVING } from './commands.js';
import { processIo } from './io.js';

void runCommand(process.argv.slice(2), processIo()).then((code) => {
  if (code !== SERVING) process.exit(code);
});
