// How values appear in error messages: Keras's own texts print them as Python would
// (str/repr of a float or int); our own messages print them as JS does (describe).

/** Whether Keras treats an argument as a Python float or int (decides how 1 prints: "1.0" or "1"). */
export type Kind = 'float' | 'int';

/** Python's repr of a float: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  // In this range JS also prints fixed notation with the same shortest digits.
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

function pyNumber(x: number, kind: Kind): string {
  return kind === 'int' && Number.isInteger(x) ? String(x) : pyFloat(x);
}

/** Python's str() of a value, as Keras's f-strings print it. */
export function pyStr(v: unknown, kind: Kind = 'float'): string {
  if (typeof v === 'string') return v;
  return pyRepr(v, kind);
}

/** Python's repr() of a value (strings in single quotes, dicts and lists in Python syntax). */
export function pyRepr(v: unknown, kind: Kind = 'float'): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyNumber(v, kind);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x, kind)).join(', ')}]`;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const entries = Object.keys(v).map((k) => `'${k}': ${pyRepr(safeGet(v, k), kind)}`);
    return `{${entries.join(', ')}}`;
  }
  return describe(v);
}

function safeGet(o: object, k: string): unknown {
  try {
    return (o as Record<string, unknown>)[k];
  } catch {
    return '<getter threw>';
  }
}

/** A short JS description of any value, for our own messages. Never throws. */
export function describe(v: unknown): string {
  try {
    if (v === undefined) return 'undefined';
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
      case 'number':
        return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint':
        return `${v}n`;
      case 'boolean':
        return String(v);
      case 'symbol':
        return v.toString();
      case 'function':
        return `function ${v.name || '(anonymous)'}`;
      default:
        break;
    }
    if (ArrayBuffer.isView(v)) {
      const len = (v as { length?: number }).length;
      return len === undefined ? `${v.constructor.name}(${v.byteLength} bytes)` : `${v.constructor.name}(${len})`;
    }
    if (Array.isArray(v)) {
      if (v.length > 8) return `Array(${v.length})`;
      return `[${v.map((x) => (typeof x === 'object' && x !== null ? describeObject(x) : describe(x))).join(', ')}]`;
    }
    return describeObject(v as object);
  } catch {
    return '<value that cannot be described>';
  }
}

function describeObject(v: object): string {
  const proto = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) {
    const keys = Object.keys(v);
    return keys.length > 6 ? `{${keys.slice(0, 6).join(', ')}, ...}` : `{${keys.join(', ')}}`;
  }
  const text = typeof (v as { toString?: unknown }).toString === 'function' ? String(v) : '';
  return text.startsWith('<') ? text : `${proto?.constructor?.name ?? 'object'} instance`;
}
