/**
 * A word diff from the reference to the output (longest common subsequence over whitespace-separated words):
 * <del> marks reference words the output lacks, <ins> output words the reference lacks.
 */
import { h } from './dom';

export type DiffOp = 'same' | 'del' | 'ins';

export interface DiffPart {
  op: DiffOp;
  words: string[];
}

/** Above this many LCS cells the middle is shown as replaced wholesale: long texts would stall the panel. */
const MAX_LCS_CELLS = 250_000;

export function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word.length > 0);
}

export function wordDiff(reference: string, output: string): DiffPart[] {
  const a = words(reference);
  const b = words(output);
  // Common prefix and suffix first: outputs are often close to the reference, which keeps the table small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const ops: DiffOp[] = [];
  const tokens: string[] = [];
  const push = (op: DiffOp, word: string): void => {
    ops.push(op);
    tokens.push(word);
  };
  for (let i = 0; i < start; i += 1) push('same', a[i]!);
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  if (middleA.length * middleB.length > MAX_LCS_CELLS) {
    for (const word of middleA) push('del', word);
    for (const word of middleB) push('ins', word);
  } else {
    for (const [op, word] of lcsDiff(middleA, middleB)) push(op, word);
  }
  for (let i = endA; i < a.length; i += 1) push('same', a[i]!);
  return group(ops, tokens);
}

function lcsDiff(a: readonly string[], b: readonly string[]): [DiffOp, string][] {
  const n = a.length;
  const m = b.length;
  // lengths[i][j] = LCS length of a[i..] and b[j..], flattened into one array.
  const lengths = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number): number => lengths[i * (m + 1) + j]!;
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lengths[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const result: [DiffOp, string][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      result.push(['same', a[i]!]);
      i += 1;
      j += 1;
    } else if (at(i + 1, j) >= at(i, j + 1)) {
      result.push(['del', a[i]!]);
      i += 1;
    } else {
      result.push(['ins', b[j]!]);
      j += 1;
    }
  }
  for (; i < n; i += 1) result.push(['del', a[i]!]);
  for (; j < m; j += 1) result.push(['ins', b[j]!]);
  return result;
}

function group(ops: readonly DiffOp[], tokens: readonly string[]): DiffPart[] {
  const parts: DiffPart[] = [];
  ops.forEach((op, index) => {
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.words.push(tokens[index]!);
    else parts.push({ op, words: [tokens[index]!] });
  });
  return parts;
}

/** The diff as text nodes inside <del>/<ins> elements, words joined by single spaces. */
export function renderWordDiff(reference: string, output: string): HTMLElement {
  const container = h('div', { className: 'word-diff' });
  wordDiff(reference, output).forEach((part, index) => {
    if (index > 0) container.appendChild(document.createTextNode(' '));
    const text = part.words.join(' ');
    container.appendChild(part.op === 'same' ? document.createTextNode(text) : h(part.op, {}, [text]));
  });
  return container;
}
