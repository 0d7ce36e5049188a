// A gauge panel: per series a 240° arc from min to max (0–100 unless set), filled to the reduced
// value in its threshold colour, with the threshold steps drawn as an outer band.
import type { DataPanel } from '../dashboard-types.ts';
import { colourOf, reduceSeries, thresholdColour, type PanelSeries } from '../panel-data.ts';
import { formatUnit } from '../units.ts';

const SWEEP_DEGREES = 240;
const START_DEGREES = 150;

function arcPath(cx: number, cy: number, radius: number, fromFraction: number, toFraction: number): string {
  const angle = (fraction: number) => ((START_DEGREES + SWEEP_DEGREES * fraction) * Math.PI) / 180;
  const [a, b] = [angle(fromFraction), angle(toFraction)];
  const large = (toFraction - fromFraction) * SWEEP_DEGREES > 180 ? 1 : 0;
  return `M ${cx + radius * Math.cos(a)} ${cy + radius * Math.sin(a)} A ${radius} ${radius} 0 ${large} 1 ${cx + radius * Math.cos(b)} ${cy + radius * Math.sin(b)}`;
}

function Gauge({ value, name, panel }: { value: number | null; name: string | undefined; panel: DataPanel }) {
  const { unit, decimals, thresholds } = panel.display;
  const min = panel.display.min ?? 0;
  const max = panel.display.max ?? 100;
  const fraction = value === null ? 0 : Math.min(1, Math.max(0, (value - min) / (max - min || 1)));
  const steps = thresholds.map((step, index) => ({
    from: step.value === null ? 0 : Math.min(1, Math.max(0, (step.value - min) / (max - min || 1))),
    to: index + 1 < thresholds.length ? Math.min(1, Math.max(0, ((thresholds[index + 1]!.value ?? min) - min) / (max - min || 1))) : 1,
    color: colourOf(step.color),
  }));
  return (
    <div className="gauge-item">
      <svg viewBox="0 0 120 100" className="gauge-svg" role="img" aria-label={`${name ?? panel.title}: ${formatUnit(value, unit, { decimals })}`}>
        {steps.map((step, index) => step.to > step.from && <path key={index} d={arcPath(60, 58, 50, step.from, step.to)} stroke={step.color} strokeWidth={3} fill="none" />)}
        <path d={arcPath(60, 58, 42, 0, 1)} stroke="#232a36" strokeWidth={10} fill="none" />
        {fraction > 0 && <path d={arcPath(60, 58, 42, 0, fraction)} stroke={thresholdColour(value, thresholds)} strokeWidth={10} fill="none" />}
        <text x={60} y={64} textAnchor="middle" className="gauge-value" fill={thresholdColour(value, thresholds)}>
          {formatUnit(value, unit, { decimals })}
        </text>
      </svg>
      {name !== undefined && <span className="stat-name">{name}</span>}
    </div>
  );
}

export default function GaugePanel({ panel, series }: { panel: DataPanel; series: PanelSeries[] }) {
  return (
    <div className="gauge-panel" data-testid="gauge-values">
      {series.slice(0, 12).map((one, index) => (
        <Gauge key={`${one.name}/${index}`} value={reduceSeries(one.values, panel.display.reducer)} name={series.length > 1 ? one.name : undefined} panel={panel} />
      ))}
    </div>
  );
}
