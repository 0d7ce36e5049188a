// The `training:` section of the server config: run tracking at ingest and hang detection.

import { z } from 'zod';
import { durationMsSchema } from '../config/config-values.ts';

const duration = durationMsSchema;

export const trainingConfigSchema = z
  .object({
    /** Track runs, ranks, series, failures and hangs as logs arrive (the /api/v1/runs API). */
    enabled: z.boolean().default(true),
    /** A rank is hung when silent longer than max(hang_interval_multiple × its median line interval, hang_floor). */
    hang_interval_multiple: z.number().positive().default(10),
    hang_floor: duration.default(30_000),
    /** A replayed run (old timestamps) is judged final after this long without a new line. */
    finalize_after: duration.default(20_000),
    /** How often hangs are looked for and hang events written for the ruler. */
    check_interval: duration.default(5_000),
    /** On start, runs are rebuilt from logs of this far back. */
    rebuild_lookback: duration.default(7 * 24 * 3600 * 1000),
  })
  .strict();

export type TrainingConfig = z.output<typeof trainingConfigSchema>;
