import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/server/metrics.js';
import { freePort, quietLogger, registry } from './support.js';

describe('tool metrics on /metrics', () => {
  it('counts calls by tool and outcome, observes latency, and counts unreachable MCP servers', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const port = await freePort();
    const reg = registry(
      {
        gone: { type: 'http', url: `http://127.0.0.1:${port}/x`, description: 'gone' },
        mcp: { type: 'mcp', url: `http://127.0.0.1:${port}/mcp` },
      },
      { metrics: metrics.tools, settings: { maxCallsPerCall: 1 } },
    );
    await reg.start();
    const c = await reg.forCall({ bot: 'b', toolNames: ['gone', 'mcp'], logger: quietLogger });
    await c.execute('gone', {});
    await c.execute('gone', {});
    c.release();
    await reg.close();
    const text = await metrics.render();
    expect(text).toContain('audiohook_tool_calls_total{tool="gone",outcome="error"} 1');
    expect(text).toContain('audiohook_tool_calls_total{tool="gone",outcome="limited"} 1');
    expect(text).toContain('audiohook_tool_call_seconds_count{tool="gone"} 2');
    expect(text).toContain('audiohook_tool_source_failures_total{source="mcp"} 1');
  });
});
