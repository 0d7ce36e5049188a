// `| label_format dst=src, dst="{{template}}"`. Renames apply immediately, left to right; templates
// render against a snapshot of the labels taken when the first template op of the stage runs, so a
// template never sees another template's output from the same stage (as in Loki).

import type { LabelFormatOp } from '../syntax/ast.ts';
import { compileTemplate, TemplateExecError, TemplateParseError, type CompiledTemplate } from '../template/template.ts';
import { ERROR_LABEL, ErrorType, type PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';

type CompiledOp = { kind: 'rename'; dst: string; src: string } | { kind: 'template'; dst: string; template: CompiledTemplate };

export function labelFormatStage(ops: LabelFormatOp[]): PipelineStage {
  const seen = new Set<string>();
  const compiled: CompiledOp[] = ops.map((op) => {
    if (seen.has(op.dst)) throw new StageBuildError(`multiple label name '${op.dst}' not allowed in a single format operation`);
    seen.add(op.dst);
    if (op.dst === ERROR_LABEL) throw new StageBuildError(`${ERROR_LABEL} cannot be used as a label_format target`);
    if (op.kind === 'rename') return op;
    try {
      return { kind: 'template', dst: op.dst, template: compileTemplate('label', op.template) };
    } catch (error) {
      if (error instanceof TemplateParseError) throw new StageBuildError(error.message);
      throw error;
    }
  });
  return {
    process(entry) {
      let snapshot: Record<string, string> | null = null;
      for (const op of compiled) {
        if (op.kind === 'rename') {
          const value = entry.labels.get(op.src);
          if (value === undefined) continue;
          entry.labels.delete(op.src);
          entry.labels.set(op.dst, value);
          continue;
        }
        snapshot ??= entry.labels.toLabels();
        const frozen: Record<string, string> = snapshot;
        try {
          const value = op.template.execute({
            get: (name) => frozen[name],
            all: () => frozen,
            line: entry.line,
            timestampNs: entry.timestampNs,
          });
          entry.labels.set(op.dst, value);
        } catch (error) {
          if (!(error instanceof TemplateExecError)) throw error;
          entry.labels.setError(ErrorType.templateFormat, error.message);
        }
      }
      return true;
    },
  };
}
