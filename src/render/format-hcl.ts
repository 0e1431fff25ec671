/**
 * Lays out HCL text the way `packer fmt` (hclwrite) does, so rendered folders
 * pass `packer fmt -check` without Packer being installed at render time:
 *
 * - indentation is two spaces per line that opened brackets, exactly as
 *   hclwrite's `formatIndent` counts them;
 * - the `=` of consecutive single-line attributes is aligned (hclwrite's
 *   `formatCells`): a blank line, a comment, a block header or an attribute
 *   whose value continues on the next line ends the run;
 * - blank lines at the start or end of a block, and repeated blank lines,
 *   are dropped (what Handlebars conditionals leave behind).
 *
 * It only moves whitespace at the start of a line and before `=`; spacing
 * inside a line is the template's job.
 */

interface LineShape {
  /** Brackets opened minus closed on the line, outside strings and comments. */
  readonly netBrackets: number;
  /** Index of the attribute's `=` when the whole value is on this line. */
  readonly assignAt: number | undefined;
  /** The heredoc this line opens (`<<EOT` or `<<-EOT`), which runs to its marker line. */
  readonly heredocMarker: string | undefined;
}

const opening = new Set(['{', '[', '(']);
const closing = new Set(['}', ']', ')']);

/** Skips a quoted string starting at `start` (the opening quote); returns the index after it. */
function skipString(line: string, start: number): number {
  let index = start + 1;
  while (index < line.length) {
    const character = line[index];
    if (character === '\\') index += 2;
    else if (character === '"') return index + 1;
    else if ((character === '$' || character === '%') && line[index + 1] === '{' && line[index - 1] !== character) index = skipInterpolation(line, index + 2);
    else index += 1;
  }
  return index;
}

function skipInterpolation(line: string, start: number): number {
  let depth = 1;
  let index = start;
  while (index < line.length && depth > 0) {
    const character = line[index];
    if (character === '"') {
      index = skipString(line, index);
      continue;
    }
    if (character === '{') depth += 1;
    if (character === '}') depth -= 1;
    index += 1;
  }
  return index;
}

function shapeOf(line: string): LineShape {
  let netBrackets = 0;
  let equalsAt: number | undefined;
  let bracketsBeforeEquals = 0;
  let index = 0;
  while (index < line.length) {
    const character = line[index] as string;
    if (character === '"') {
      index = skipString(line, index);
      continue;
    }
    if (character === '#' || (character === '/' && line[index + 1] === '/')) break;
    if (character === '<' && line[index + 1] === '<') {
      const heredoc = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\s*$/.exec(line.slice(index));
      if (heredoc) return { netBrackets, assignAt: undefined, heredocMarker: heredoc[1] };
    }
    if (opening.has(character)) netBrackets += 1;
    if (closing.has(character)) netBrackets -= 1;
    if (character === '=' && equalsAt === undefined && index > 0 && !/[=!<>]/.test(line[index - 1] ?? '') && line[index + 1] !== '=' && line[index + 1] !== '>') {
      equalsAt = index;
      bracketsBeforeEquals = netBrackets;
    }
    index += 1;
  }
  const valueIsOnThisLine = equalsAt !== undefined && netBrackets - bracketsBeforeEquals === 0;
  return { netBrackets, assignAt: valueIsOnThisLine ? equalsAt : undefined, heredocMarker: undefined };
}

function isOpeningOnly(line: string | undefined): boolean {
  return line !== undefined && /[{[(]$/.test(line);
}

/** Drops trailing spaces, repeated blank lines and blank lines just inside a block. */
function tidyBlankLines(lines: readonly string[]): string[] {
  const kept: string[] = [];
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trimEnd();
    if (trimmed.trim() === '') {
      const previous = kept[kept.length - 1];
      const next = lines.slice(index + 1).find((candidate) => candidate.trim() !== '');
      if (previous === undefined || previous === '' || isOpeningOnly(previous.trim()) || next === undefined || /^[}\])]/.test(next.trim())) continue;
      kept.push('');
      continue;
    }
    kept.push(trimmed);
  }
  return kept;
}

interface FormattedLine {
  text: string;
  assignAt: number | undefined;
}

function indentLines(lines: readonly string[]): FormattedLine[] {
  const indents: number[] = [];
  const formatted: FormattedLine[] = [];
  let heredocMarker: string | undefined;
  for (const line of lines) {
    if (heredocMarker !== undefined) {
      formatted.push({ text: line, assignAt: undefined });
      if (line.trim() === heredocMarker) heredocMarker = undefined;
      continue;
    }
    const content = line.trim();
    if (content === '') {
      formatted.push({ text: '', assignAt: undefined });
      continue;
    }
    const shape = shapeOf(content);
    heredocMarker = shape.heredocMarker;
    let closed = -shape.netBrackets;
    while (closed > 0 && indents.length > 0) {
      const top = indents[indents.length - 1] as number;
      if (closed >= top) {
        indents.pop();
        closed -= top;
      } else {
        indents[indents.length - 1] = top - closed;
        closed = 0;
      }
    }
    // A line that opens brackets is indented at the outer level; one that closes them, at the level it returns to.
    const indent = '  '.repeat(indents.length);
    if (shape.netBrackets > 0) indents.push(shape.netBrackets);
    formatted.push({ text: indent + content, assignAt: shape.assignAt === undefined ? undefined : shape.assignAt + indent.length });
  }
  return formatted;
}

// NOTE: one segmenter for every line: making one costs far more than segmenting a line with it, and a fleet renders
// every image's template to fingerprint it. Printable ASCII is one column a character, so it needs none; the
// segmenter is made at the first line that is not (about 10 ms of CPU: ICU loads its break rules), not when the
// module loads, which every plan and run does.
let segmenter: Intl.Segmenter | undefined;
const printableAscii = /^[\x20-\x7e]*$/;
const columnsOf = (text: string): number => (printableAscii.test(text) ? text.length : [...(segmenter ??= new Intl.Segmenter()).segment(text)].length);

function alignAssignments(lines: readonly FormattedLine[]): string[] {
  const aligned = lines.map((line) => line.text);
  let chainStart = 0;
  const closeChain = (end: number) => {
    const chain = lines.slice(chainStart, end).map((line) => ({ lead: line.text.slice(0, line.assignAt).trimEnd(), rest: line.text.slice(line.assignAt) }));
    const width = Math.max(0, ...chain.map((line) => columnsOf(line.lead)));
    chain.forEach((line, offset) => {
      aligned[chainStart + offset] = `${line.lead}${' '.repeat(width - columnsOf(line.lead) + 1)}${line.rest}`;
    });
  };
  lines.forEach((line, index) => {
    if (line.assignAt === undefined) {
      if (chainStart < index) closeChain(index);
      chainStart = index + 1;
    }
  });
  if (chainStart < lines.length) closeChain(lines.length);
  return aligned;
}

export function formatHcl(text: string): string {
  const lines = alignAssignments(indentLines(tidyBlankLines(text.split('\n'))));
  return `${lines.join('\n').trim()}\n`;
}
