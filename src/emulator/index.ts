/** Public surface of the offline OpenAI Realtime emulator. */
export { startEmulator, EMULATOR_BANNER, type Emulator, type EmulatorOptions } from './server.js';
export { runEmulatorCli, EMULATOR_USAGE } from './cli.js';
export { EmulatorFaults, type HandshakeFault, type SessionFault } from './faults.js';
export type { EmulatorSessionRecord, EmulatorObserver, ConversationEntry, InputAudioArrival } from './session.js';
export { callScriptSchema, loadCallScript, parseCallScript, DEFAULT_SCRIPT, type CallScript, type CallScriptInput, type ScriptReply, type ScriptTurn } from './script.js';
export { parseSpeed, type Speed } from './pacing.js';
export { REALISTIC, TIDY, formatRetryAfter, type Realism } from './realism.js';
export type { AzureResource } from './auth.js';
export type { ServerEventBody } from './server-events.js';
export { TEST_CA_PATH, loadTestCa } from './tls-fixtures.js';
export { ulawTone, ulawSilence } from './tone.js';
