// What a template can fail with. All three share TemplateError, so a context that turns any template
// failure into text (Prometheus's `<error expanding template: …>`) catches one class.

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** The source is not a valid template (or names an unknown function or variable): `template: NAME:LINE: …`. */
export class TemplateParseError extends TemplateError {
  /** 0-based offset into the template text. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'TemplateParseError';
    this.offset = offset;
  }
}

/** Execution failed: `template: NAME:LINE:COL: executing "NAME" at <…>: …`. */
export class TemplateExecError extends TemplateError {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

/** A template exceeded a size, iteration or depth bound: the caller answers 400, not 500. */
export class TemplateLimitError extends TemplateError {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateLimitError';
  }
}
