import { z } from 'zod';
import type { ComponentAdapter } from '../types.js';

/** Returns its evaluated request: a pure data transformation, no side effects. */
export const transformAdapter: ComponentAdapter<Record<string, never>> = {
  kind: 'transform',
  implicit: true,
  pure: true,
  configSchema: z.strictObject({}),
  create: () => ({
    execute: (request) => Promise.resolve(request),
  }),
};
