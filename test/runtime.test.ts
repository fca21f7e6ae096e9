import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs on the Node 22 LTS that the repo brings (node_modules/.bin/node)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBe(22);
  });
});
