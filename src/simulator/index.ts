/** The simulated Genesys Cloud AudioHook client: library entry for tests, replay and load generation. */
export { AudioStreamer, type AudioSink, type StreamOptions, type StreamResult } from './audio-streamer.js';
export { CallerLine, silenceSource, ulawSource, type AudioSource } from './audio-source.js';
export { CallRecording } from './call-recording.js';
export {
  DEFAULT_CLIENT_TIMING,
  type AudioState,
  type ClientSessionEvent,
  type ClientSessionOptions,
  type ClientSessionState,
  type ClientTiming,
  type ClientTransport,
  type OpenRequest,
  type Participant,
} from './client-contract.js';
export { ClientSession } from './client-session.js';
export {
  ConnectError,
  createSimulatedCall,
  GENESYS_USER_AGENT,
  GenesysClient,
  WaitError,
  type SignatureOverrides,
  type SimulatedCallOptions,
} from './genesys-client.js';
export {
  callerFrame,
  checkOpenedMedia,
  DEFAULT_OFFERS,
  jsonEqual,
  L16_EXTERNAL,
  L16_STEREO,
  PCMU_EXTERNAL,
  PCMU_STEREO,
} from './media.js';
export { PlayoutModel, type PlayoutEndReason, type PlayoutHooks } from './playout.js';
export type * from './report.js';
export {
  assertNoViolations,
  ProtocolViolationError,
  VIOLATION_STATUS,
  type ProtocolViolation,
  type ViolationCode,
} from './violations.js';
