// `| line_format "{{.label}} …"`: replaces the line with the rendered template.

import { compileTemplate, TemplateExecError, TemplateParseError } from '../template/template.ts';
import { ErrorType, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';

export function templateData(entry: PipelineEntry) {
  return {
    get: (name: string) => entry.labels.get(name),
    all: () => entry.labels.toLabels(),
    line: entry.line,
    timestampNs: entry.timestampNs,
  };
}

export function lineFormatStage(source: string): PipelineStage {
  let template;
  try {
    template = compileTemplate('line', source);
  } catch (error) {
    if (error instanceof TemplateParseError) throw new StageBuildError(error.message);
    throw error;
  }
  return {
    process(entry) {
      try {
        entry.line = template.execute(templateData(entry));
      } catch (error) {
        if (!(error instanceof TemplateExecError)) throw error;
        entry.labels.setError(ErrorType.templateFormat, error.message);
      }
      return true;
    },
  };
}
