// Grafana's units for the ones dashboards for GPUs and serving use: percent, percentunit, bytes
// (IEC and SI, and MiB-based `decmbytes`), bytes per second, seconds and milliseconds, watts,
// degrees, requests and operations per second, short (k, M, G). Unknown units print the number
// and the unit id. Pure.

export interface FormatOptions {
  decimals?: number;
}

function round(value: number, decimals: number | undefined): string {
  if (decimals !== undefined) return value.toFixed(decimals);
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0';
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1).replace(/\.0$/, '');
  if (magnitude >= 1) return value.toFixed(2).replace(/\.?0+$/, '');
  return value.toPrecision(2).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

function scaled(value: number, base: number, prefixes: string[], suffix: string, options: FormatOptions): string {
  let index = 0;
  let scaledValue = value;
  while (Math.abs(scaledValue) >= base && index < prefixes.length - 1) {
    scaledValue /= base;
    index++;
  }
  return `${round(scaledValue, options.decimals)} ${prefixes[index]}${suffix}`.trim();
}

const SI = ['', 'k', 'M', 'G', 'T', 'P'];
const IEC_BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const SI_BYTES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

function seconds(value: number, options: FormatOptions): string {
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0 s';
  if (magnitude < 1e-3) return `${round(value * 1e6, options.decimals)} µs`;
  if (magnitude < 1) return `${round(value * 1000, options.decimals)} ms`;
  if (magnitude < 60) return `${round(value, options.decimals)} s`;
  if (magnitude < 3600) return `${round(value / 60, options.decimals)} min`;
  if (magnitude < 86_400) return `${round(value / 3600, options.decimals)} hour`;
  return `${round(value / 86_400, options.decimals)} day`;
}

export function formatUnit(value: number | null | undefined, unit: string, options: FormatOptions = {}): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'percent':
      return `${round(value, options.decimals)}%`;
    case 'percentunit':
      return `${round(value * 100, options.decimals)}%`;
    case 'bytes':
      return scaled(value, 1024, IEC_BYTES, '', options);
    case 'decbytes':
      return scaled(value, 1000, SI_BYTES, '', options);
    case 'decmbytes':
    case 'mbytes':
      return scaled(value * 1024 * 1024, 1024, IEC_BYTES, '', options);
    case 'Bps':
    case 'binBps':
      return `${scaled(value, 1024, IEC_BYTES, '', options)}/s`;
    case 'KBs':
      return `${scaled(value * 1024, 1024, IEC_BYTES, '', options)}/s`;
    case 's':
      return seconds(value, options);
    case 'ms':
      return seconds(value / 1000, options);
    case 'watt':
      return scaled(value, 1000, SI, 'W', options);
    case 'celsius':
      return `${round(value, options.decimals)} °C`;
    case 'reqps':
      return scaled(value, 1000, SI, ' req/s', options);
    case 'ops':
      return scaled(value, 1000, SI, ' ops/s', options);
    case 'hertz':
      return scaled(value, 1000, SI, 'Hz', options);
    case '':
    case 'short':
    case 'none':
      return scaled(value, 1000, SI, '', options);
    default:
      return `${round(value, options.decimals)} ${unit}`;
  }
}
