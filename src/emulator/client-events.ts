/**
 * Zod schemas of the GA Realtime client events (openai@7.57 `RealtimeClientEvent`), strict: any field the
 * GA API does not define (including retired beta names such as `input_audio_format`, `modalities`,
 * top-level `turn_detection`) is rejected, as OpenAI rejects it with `unknown_parameter`.
 */
import { z } from 'zod';

const eventId = z.string().optional();

export const audioFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('audio/pcm'), rate: z.literal(24000).optional() }),
  z.strictObject({ type: z.literal('audio/pcmu') }),
  z.strictObject({ type: z.literal('audio/pcma') }),
]);
export type AudioFormat = z.infer<typeof audioFormatSchema>;

export const serverVadSchema = z.strictObject({
  type: z.literal('server_vad'),
  threshold: z.number().min(0).max(1).optional(),
  prefix_padding_ms: z.number().int().min(0).optional(),
  silence_duration_ms: z.number().int().min(0).optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
  idle_timeout_ms: z.number().int().min(5000).max(30000).nullable().optional(),
});

export const semanticVadSchema = z.strictObject({
  type: z.literal('semantic_vad'),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
});

export const turnDetectionSchema = z.discriminatedUnion('type', [serverVadSchema, semanticVadSchema]);
export type TurnDetectionInput = z.infer<typeof turnDetectionSchema>;

export const transcriptionSchema = z.strictObject({
  model: z.string().min(1).optional(),
  language: z.string().optional(),
  languages: z.array(z.string()).optional(),
  prompt: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  delay: z.string().optional(),
});

const noiseReductionSchema = z.strictObject({
  type: z.enum(['near_field', 'far_field']).optional(),
  strength: z.number().min(0).max(1).optional(),
});

export const voiceSchema = z.union([
  z.enum(['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar']),
  z.strictObject({ id: z.string().min(1) }),
]);

export const audioConfigSchema = z.strictObject({
  input: z
    .strictObject({
      format: audioFormatSchema.optional(),
      noise_reduction: noiseReductionSchema.nullable().optional(),
      transcription: transcriptionSchema.nullable().optional(),
      turn_detection: turnDetectionSchema.nullable().optional(),
    })
    .optional(),
  output: z
    .strictObject({
      format: audioFormatSchema.optional(),
      voice: voiceSchema.optional(),
      speed: z.number().min(0.25).max(1.5).optional(),
    })
    .optional(),
});

export const functionToolSchema = z.strictObject({
  type: z.literal('function'),
  name: z.string().min(1).max(64),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

// MCP tools are accepted loosely: the emulator never calls them.
const mcpToolSchema = z.looseObject({ type: z.literal('mcp'), server_label: z.string() });
const toolSchema = z.discriminatedUnion('type', [functionToolSchema, mcpToolSchema]);

const toolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.strictObject({ type: z.literal('function'), name: z.string() }),
  z.strictObject({ type: z.literal('mcp'), server_label: z.string(), name: z.string().nullable().optional() }),
]);

const maxOutputTokensSchema = z.union([z.number().int().min(1).max(4096), z.literal('inf')]);

const tracingSchema = z.union([
  z.literal('auto'),
  z.strictObject({
    workflow_name: z.string().optional(),
    group_id: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  z.null(),
]);

const truncationSchema = z.union([
  z.enum(['auto', 'disabled']),
  z.strictObject({
    type: z.literal('retention_ratio'),
    retention_ratio: z.number().min(0).max(1),
    token_limits: z.strictObject({ post_instructions: z.number().int().min(0).optional() }).optional(),
  }),
]);

const promptSchema = z
  .strictObject({ id: z.string(), version: z.string().nullable().optional(), variables: z.record(z.string(), z.unknown()).nullable().optional() })
  .nullable();

const outputModalitiesSchema = z.union([z.tuple([z.literal('audio')]), z.tuple([z.literal('text')])]);

export const sessionUpdateBodySchema = z.strictObject({
  type: z.literal('realtime'),
  model: z.string().optional(),
  instructions: z.string().optional(),
  output_modalities: outputModalitiesSchema.optional(),
  audio: audioConfigSchema.optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: toolChoiceSchema.optional(),
  max_output_tokens: maxOutputTokensSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  reasoning: z.strictObject({ effort: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional() }).optional(),
  tracing: tracingSchema.optional(),
  truncation: truncationSchema.optional(),
  prompt: promptSchema.optional(),
  include: z.array(z.literal('item.input_audio_transcription.logprobs')).nullable().optional(),
});
export type SessionUpdateBody = z.infer<typeof sessionUpdateBodySchema>;

const inputTextContent = z.strictObject({ type: z.literal('input_text'), text: z.string() });
const inputAudioContent = z.strictObject({
  type: z.literal('input_audio'),
  audio: z.string().optional(),
  transcript: z.string().optional(),
});
const inputImageContent = z.strictObject({
  type: z.literal('input_image'),
  image_url: z.string(),
  detail: z.enum(['auto', 'low', 'high']).optional(),
});
const outputTextContent = z.strictObject({ type: z.literal('output_text'), text: z.string() });
const outputAudioContent = z.strictObject({
  type: z.literal('output_audio'),
  audio: z.string().optional(),
  transcript: z.string().optional(),
});

const itemCommon = {
  id: z.string().max(32).optional(),
  object: z.literal('realtime.item').optional(),
  status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
};

export const systemMessageSchema = z.strictObject({
  ...itemCommon,
  type: z.literal('message'),
  role: z.literal('system'),
  content: z.array(inputTextContent),
});
export const userMessageSchema = z.strictObject({
  ...itemCommon,
  type: z.literal('message'),
  role: z.literal('user'),
  content: z.array(z.discriminatedUnion('type', [inputTextContent, inputAudioContent, inputImageContent])),
});
export const assistantMessageSchema = z.strictObject({
  ...itemCommon,
  type: z.literal('message'),
  role: z.literal('assistant'),
  content: z.array(z.discriminatedUnion('type', [outputTextContent, outputAudioContent])),
});
export const functionCallItemSchema = z.strictObject({
  ...itemCommon,
  type: z.literal('function_call'),
  name: z.string(),
  arguments: z.string(),
  call_id: z.string().optional(),
});
export const functionCallOutputItemSchema = z.strictObject({
  ...itemCommon,
  type: z.literal('function_call_output'),
  call_id: z.string(),
  output: z.string(),
});

// Messages share `type: "message"`, so dispatch on role inside a plain union.
const messageItemSchema = z.discriminatedUnion('role', [systemMessageSchema, userMessageSchema, assistantMessageSchema]);
export const conversationItemSchema = z.union([messageItemSchema, functionCallItemSchema, functionCallOutputItemSchema]);
export type ConversationItemInput = z.infer<typeof conversationItemSchema>;

export const responseCreateParamsSchema = z.strictObject({
  conversation: z.union([z.enum(['auto', 'none']), z.string()]).optional(),
  input: z.array(z.union([conversationItemSchema, z.strictObject({ type: z.literal('item_reference'), id: z.string() })])).optional(),
  instructions: z.string().optional(),
  output_modalities: outputModalitiesSchema.optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
  max_output_tokens: maxOutputTokensSchema.optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: toolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  prompt: promptSchema.optional(),
  reasoning: z.strictObject({ effort: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional() }).optional(),
  audio: z
    .strictObject({ output: z.strictObject({ format: audioFormatSchema.optional(), voice: voiceSchema.optional() }).optional() })
    .optional(),
});
export type ResponseCreateParams = z.infer<typeof responseCreateParamsSchema>;

export const clientEventSchemas = {
  'session.update': z.strictObject({ type: z.literal('session.update'), event_id: eventId, session: sessionUpdateBodySchema }),
  'input_audio_buffer.append': z.strictObject({ type: z.literal('input_audio_buffer.append'), event_id: eventId, audio: z.base64() }),
  'input_audio_buffer.commit': z.strictObject({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  'input_audio_buffer.clear': z.strictObject({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
  'conversation.item.create': z.strictObject({
    type: z.literal('conversation.item.create'),
    event_id: eventId,
    previous_item_id: z.string().nullable().optional(),
    item: conversationItemSchema,
  }),
  'conversation.item.retrieve': z.strictObject({ type: z.literal('conversation.item.retrieve'), event_id: eventId, item_id: z.string() }),
  'conversation.item.truncate': z.strictObject({
    type: z.literal('conversation.item.truncate'),
    event_id: eventId,
    item_id: z.string(),
    content_index: z.number().int().min(0),
    audio_end_ms: z.number().int().min(0),
  }),
  'conversation.item.delete': z.strictObject({ type: z.literal('conversation.item.delete'), event_id: eventId, item_id: z.string() }),
  'response.create': z.strictObject({ type: z.literal('response.create'), event_id: eventId, response: responseCreateParamsSchema.optional() }),
  'response.cancel': z.strictObject({ type: z.literal('response.cancel'), event_id: eventId, response_id: z.string().optional() }),
} as const;

export type ClientEventType = keyof typeof clientEventSchemas;
export type ClientEvent = { [K in ClientEventType]: z.infer<(typeof clientEventSchemas)[K]> }[ClientEventType];
export const CLIENT_EVENT_TYPES = Object.keys(clientEventSchemas) as ClientEventType[];

export function isClientEventType(type: string): type is ClientEventType {
  return Object.hasOwn(clientEventSchemas, type);
}
