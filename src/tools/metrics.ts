/**
 * The tool metrics the registry reports, as a narrow interface: src/server/metrics.ts registers the series
 * (`audiohook_tool_calls_total{tool,outcome}`, `audiohook_tool_call_seconds{tool}`,
 * `audiohook_tool_source_failures_total{source}`). Label values are tool and source names from the bots
 * file, or names derived from Data Actions a flow adds per call — bounded by `BoundedLabels`.
 */
import type { ToolOutcome } from './result.js';

export interface ToolMetrics {
  toolCalls: { inc(tool: string, outcome: ToolOutcome): void };
  toolCallSeconds: { observe(tool: string, seconds: number): void };
  /** An MCP server could not be reached (at start-up or after a loss). */
  toolSourceFailures: { inc(source: string): void };
}

/** At most `max` distinct label values; later ones become "other" (a flow cannot blow up cardinality). */
export class BoundedLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 200) {}

  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}
