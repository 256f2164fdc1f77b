/** How numbers are shown in the report panel: the same conventions as the Markdown export. */
import { formatBytes } from '../../engine/report/formatBytes';

const DASH = '—';

const isNumber = (value: number | null | undefined): value is number =>
  typeof value === 'number' && !Number.isNaN(value);

/** 0.4321 → "43.2%". */
export function percent(value: number | null | undefined): string {
  return isNumber(value) ? `${(value * 100).toFixed(1)}%` : DASH;
}

/** "[40.0%, 60.0%]". */
export function percentInterval(low: number | null | undefined, high: number | null | undefined): string {
  return `[${percent(low)}, ${percent(high)}]`;
}

/** A signed difference in percentage points: "+12.0 pp". */
export function signedPoints(value: number): string {
  const points = value * 100;
  return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pp`;
}

export function fixed(value: number | null | undefined, digits: number): string {
  return isNumber(value) ? value.toFixed(digits) : DASH;
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * An example count from a bound, rounded up: thousands separators below a million, then "2.43 × 10^9"
 * (bounds over a vocabulary reach 10^12 and more, where twelve digits say less than an exponent).
 */
export function bigNumber(value: number): string {
  if (Number.isNaN(value)) return DASH;
  if (!Number.isFinite(value)) return '∞';
  const rounded = Math.ceil(value);
  if (Math.abs(rounded) < 1e6) return count(rounded);
  let exponent = Math.floor(Math.log10(Math.abs(value)));
  let mantissa = value / 10 ** exponent;
  // 9.996 × 10^8 rounds to "10.00": show it as 1.00 × 10^9.
  if (Math.abs(Number(mantissa.toFixed(2))) >= 10) {
    exponent += 1;
    mantissa /= 10;
  }
  return `${mantissa.toFixed(2)} × 10^${exponent}`;
}

/** p-values: three significant digits, and a floor below which more digits mean nothing. */
export function pValue(value: number): string {
  if (!isNumber(value)) return DASH;
  return value < 0.0001 ? '< 0.0001' : value.toPrecision(3);
}

export function duration(seconds: number): string {
  if (!isNumber(seconds)) return DASH;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return minutes < 60 ? `${minutes} min ${rest} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** File sizes: B, KB, MB, GB (powers of 1024); a dash for what is not a size. */
export function bytes(value: number): string {
  return !isNumber(value) || value < 0 ? DASH : formatBytes(value);
}
