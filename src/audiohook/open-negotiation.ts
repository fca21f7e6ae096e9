/**
 * The answer to `open` (§5.2), decided without touching the socket: reject (organization mismatch, no
 * usable media) with the `disconnect` to send, or accept with the `opened` parameters, the chosen media and
 * the call's language. A connection probe (integration activation) uses the null conversation id and is
 * accepted even without usable media.
 */
import type { Logger } from 'pino';
import type { CallContext, SessionOptions } from './handler.js';
import { clientLanguage } from './language.js';
import { describeOffers, selectMedia, type MediaChoice } from './media.js';
import { NULL_UUID, type ClientMessageOf, type DisconnectReason, type MediaOffer, type ServerParameters } from './schemas.js';

export type OpenDecision =
  | { ok: false; reason: DisconnectReason; info: string; log: { message: string; offered?: string } }
  | {
      ok: true;
      probe: boolean;
      opened: ServerParameters<'opened'>;
      /** Null only for a probe without usable media. */
      choice: MediaChoice | null;
      /** The language tag; undefined when absent or not a tag. */
      language: string | undefined;
      /** Set when a language was given but is not a tag: its length, for the log. */
      languageIgnoredChars: number | undefined;
    };

export interface OpenPolicy {
  /** From the Audiohook-Organization-Id header: `open` must name the same organization. */
  organizationId: string;
  /** Listed in `opened` when the client asks for them. */
  supportedLanguages?: readonly string[];
}

/** `raw` is the message as received: `opened` must echo the offered media entry verbatim, not zod's copy. */
export function negotiateOpen(message: ClientMessageOf<'open'>, raw: Record<string, unknown>, policy: OpenPolicy): OpenDecision {
  const p = message.parameters;
  if (p.organizationId.toLowerCase() !== policy.organizationId.toLowerCase()) {
    return {
      ok: false,
      reason: 'unauthorized',
      info: 'organizationId does not match the Audiohook-Organization-Id header',
      log: { message: 'open rejected: organizationId differs from the Audiohook-Organization-Id header' },
    };
  }
  const probe = p.conversationId === NULL_UUID;
  const rawOffers = (raw.parameters as { media: unknown[] }).media;
  const choice = selectMedia(rawOffers);
  if (choice === null && !probe) {
    const offered = describeOffers(rawOffers);
    return {
      ok: false,
      reason: 'error',
      info: `no usable media offered (need PCMU or L16 at 8000 Hz with the external channel); offered: ${offered}`,
      log: { message: 'open rejected: no usable media', offered },
    };
  }
  const opened: ServerParameters<'opened'> = { startPaused: false, media: choice ? [choice.offer as MediaOffer] : [] };
  if (p.supportedLanguages === true) opened.supportedLanguages = [...(policy.supportedLanguages ?? [])];
  const { tag, ignoredChars } = clientLanguage(p.language);
  return { ok: true, probe, opened, choice, language: tag, languageIgnoredChars: ignoredChars };
}

/** What the call logic learns about the call it is created for (CallHandlerFactory). */
export function callContextFor(
  message: ClientMessageOf<'open'>,
  choice: MediaChoice,
  language: string | undefined,
  session: { options: Pick<SessionOptions, 'sessionId' | 'correlationId' | 'connectorId'>; logger: Logger; openedAt: number },
): CallContext {
  const p = message.parameters;
  return {
    sessionId: session.options.sessionId,
    correlationId: session.options.correlationId,
    organizationId: p.organizationId,
    conversationId: p.conversationId,
    connectorId: session.options.connectorId,
    participant: p.participant,
    language,
    inputVariables: p.inputVariables ?? {},
    customConfig: p.customConfig ?? {},
    media: choice.offer as MediaOffer,
    layout: choice.layout,
    logger: session.logger,
    openedAt: session.openedAt,
  };
}
