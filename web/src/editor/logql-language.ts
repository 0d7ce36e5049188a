// LogQL for CodeMirror: Grafana's lezer grammar with our highlight tags.
import { parser } from '@grafana/lezer-logql';
import { LRLanguage, LanguageSupport, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { styleTags, tags } from '@lezer/highlight';

const highlighted = parser.configure({
  props: [
    styleTags({
      String: tags.string,
      'Number Duration Bytes': tags.number,
      Identifier: tags.variableName,
      LineComment: tags.lineComment,
      'Json Logfmt Unpack Pattern Regexp Unwrap LabelFormat LineFormat Decolorize Drop Keep Ip Offset Bool On Ignoring GroupLeft GroupRight By Without Vector LabelReplace':
        tags.keyword,
      'And Or Unless': tags.logicOperator,
      'Sum Avg Count Max Min Stddev Stdvar Bottomk Topk Sort Sort_Desc': tags.function(tags.variableName),
      'CountOverTime Rate RateCounter BytesOverTime BytesRate AvgOverTime SumOverTime MinOverTime MaxOverTime StddevOverTime StdvarOverTime QuantileOverTime FirstOverTime LastOverTime AbsentOverTime':
        tags.function(tags.variableName),
      'BytesConv DurationConv DurationSecondsConv': tags.function(tags.variableName),
      'Eq Neq Re Nre PipeExact PipeMatch PipePattern Npa Pipe Gtr Gte Lss Lte Eql Add Sub Mul Div Mod Pow': tags.operator,
    }),
  ],
});

export const logqlLanguage = LRLanguage.define({
  name: 'logql',
  parser: highlighted,
  languageData: { closeBrackets: { brackets: ['(', '[', '{', '"', '`'] }, commentTokens: { line: '#' } },
});

/** The query colours, shared by the LogQL and PromQL editors. */
export const queryHighlight = HighlightStyle.define([
  { tag: tags.string, color: '#a5d6a7' },
  { tag: tags.number, color: '#ffcc80' },
  { tag: tags.variableName, color: '#90caf9' },
  { tag: tags.lineComment, color: '#78909c', fontStyle: 'italic' },
  { tag: tags.keyword, color: '#ce93d8' },
  { tag: tags.logicOperator, color: '#ce93d8' },
  { tag: tags.function(tags.variableName), color: '#4dd0e1' },
  { tag: tags.operator, color: '#f48fb1' },
]);

export function logql(): LanguageSupport {
  return new LanguageSupport(logqlLanguage, [syntaxHighlighting(queryHighlight)]);
}
