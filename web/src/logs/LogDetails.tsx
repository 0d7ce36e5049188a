// A line's labels, split as Loki categorises them (indexed, structured metadata, parsed), with
// filter-for / filter-out buttons and the way into context.
import type { Labels } from '../api/loki-client.ts';
import type { LogRow } from './log-rows.ts';

export type LabelKind = 'indexed' | 'metadata' | 'parsed';
export type FilterAction = (name: string, kind: LabelKind, operator: '=' | '!=', value: string) => void;

interface Props {
  row: LogRow;
  onFilter?: FilterAction;
  onOpenContext?(row: LogRow): void;
}

function LabelTable({ title, labels, kind, onFilter }: { title: string; labels: Labels; kind: LabelKind; onFilter?: FilterAction }) {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return null;
  return (
    <table className="label-table">
      <caption>{title}</caption>
      <tbody>
        {names.map((name) => (
          <tr key={name}>
            <td className="label-actions">
              {onFilter && (
                <>
                  <button title={`Only lines with ${name}=${labels[name]}`} onClick={() => onFilter(name, kind, '=', labels[name])}>
                    +
                  </button>
                  <button title={`Hide lines with ${name}=${labels[name]}`} onClick={() => onFilter(name, kind, '!=', labels[name])}>
                    −
                  </button>
                </>
              )}
            </td>
            <td className="label-name">{name}</td>
            <td className="label-value">{labels[name]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function LogDetails({ row, onFilter, onOpenContext }: Props) {
  return (
    <div className="log-details" data-testid="log-details" onClick={(event) => event.stopPropagation()}>
      <div className="log-details-head">
        <span>
          timestamp <code>{row.timestampNs.toString()}</code> ns
        </span>
        {onOpenContext && (
          <button className="primary" onClick={() => onOpenContext(row)} data-testid="open-context">
            Show context
          </button>
        )}
        <button onClick={() => void navigator.clipboard?.writeText(row.line)}>Copy line</button>
      </div>
      <LabelTable title="Indexed labels" labels={row.stream} kind="indexed" onFilter={onFilter} />
      <LabelTable title="Structured metadata" labels={row.structuredMetadata} kind="metadata" onFilter={onFilter} />
      <LabelTable title="Parsed fields" labels={row.parsed} kind="parsed" onFilter={onFilter} />
    </div>
  );
}
