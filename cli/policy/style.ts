// Terminal colour: only when the stream is a TTY and NO_COLOR is not set
// (https://no-color.org: any non-empty value disables colour).
const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Styler = keyof typeof CODES;

export function style(s: Styler, text: string): string {
  const [on, off] = CODES[s];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR) return false;
  return stream.isTTY === true;
}

/** Width to fit output to: the terminal's when it is one, else 80. */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return stream.isTTY && stream.columns ? stream.columns : 80;
}

/** A painter that is the identity when colour is off. */
export function painter(enabled: boolean): (s: Styler, text: string) => string {
  return enabled ? style : (_s, text) => text;
}
