// Validation limits small enough that a test's hand-written entries cross each of them.
import type { ValidationLimits } from '../../src/ingest/validate.ts';

export const TIGHT_LIMITS: ValidationLimits = {
  maxLabelNamesPerSeries: 3,
  maxLabelNameLength: 10,
  maxLabelValueLength: 10,
  maxLineSizeBytes: 16,
  maxLineSizeTruncate: false,
  rejectOldSamples: true,
  rejectOldSamplesMaxAgeMs: 3_600_000,
  creationGracePeriodMs: 600_000,
  allowStructuredMetadata: true,
  maxStructuredMetadataEntries: 2,
  maxStructuredMetadataSizeBytes: 20,
};
