/** The worker-cluster setting, merged into the process's zod schema (src/config/env.ts). */
import { z } from 'zod';
import { intInRange } from '../config/env-fields.js';

export const clusterEnvShape = {
  /**
   * Worker processes serving the one listening port (node:cluster). Unset: os.availableParallelism().
   * 1: a single process, exactly as without clustering.
   */
  WORKERS: intInRange(1, 256).optional(),
};

export type ClusterEnv = z.infer<z.ZodObject<typeof clusterEnvShape>>;
