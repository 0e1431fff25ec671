/**
 * One escaping function per place a string of a definition ends up, so that
 * it arrives exactly as written:
 *
 * - `hclString`: an HCL2 quoted string (`${` and `%{` stay literal);
 * - `packerTemplateText`: text that Packer 1.6.6 evaluates as a Go template
 *   after HCL has read it (every string of the amazon-ebs source and of the
 *   provisioners), so that text HCL would normalise to NFC survives. `{{`
 *   cannot survive Packer's evaluation at all and is refused by
 *   `packerTemplateProblem`; inline commands that hold it are written to a
 *   script file instead (see provisioners.ts);
 * - `shellWord`: one POSIX shell word;
 * - `amiNameProblem`: AMI names are not escaped but checked, since AWS allows
 *   only a small character set and changing a name silently would lie.
 *
 * What cannot be carried exactly (a lone UTF-16 surrogate, which has no UTF-8
 * form) is refused by `uncarriableTextProblem` before rendering.
 */
import { hclString, type HclBody, type HclValue } from './hcl.ts';

export { hclString };

/** A Go string literal that only holds ASCII, so no later NFC normalisation can change it. */
function goAsciiStringLiteral(value: string): string {
  let literal = '"';
  for (const character of value) {
    const code = character.codePointAt(0) as number;
    if (character === '"' || character === '\\') literal += `\\${character}`;
    else if (code >= 0x20 && code < 0x7f) literal += character;
    else if (code <= 0xffff) literal += `\\u${code.toString(16).padStart(4, '0')}`;
    else literal += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${literal}"`;
}

/**
 * Why `value` cannot reach Packer's Go-template-evaluated strings exactly as
 * written, or undefined. Packer 1.6.6 renders these strings again and again
 * until the text stops changing (interpolate.Render), so no escape can make
 * `{{` survive: `{{"{{"}}` comes out as `{{`, which is rendered once more.
 * (Verified with `packer console` and with builds.)
 */
export function packerTemplateProblem(value: string): string | undefined {
  if (!value.includes('{{')) return undefined;
  return `contains "{{", which Packer evaluates as a template (repeatedly, so no escaping can keep it). Remove it, or write it with a space ("{ {")`;
}

/**
 * The template text whose Go-template evaluation is `value`; `value` must
 * have no `{{` (see packerTemplateProblem). Text without `{{` is plain text
 * to Go templates, so only one thing needs care:
 *
 * NOTE: HCL normalises every string literal to NFC before Packer sees it, so
 * a value that NFC would change (NFD accents, CJK compatibility ideographs)
 * is sent as one Go string literal written in ASCII escapes, which HCL leaves
 * alone and Go turns back into the exact code points; the result has no `{{`,
 * so later evaluations leave it as it is.
 */
export function packerTemplateText(value: string): string {
  const problem = packerTemplateProblem(value);
  if (problem) throw new TypeError(`${JSON.stringify(value)} ${problem}`);
  return value.normalize('NFC') === value ? value : `{{${goAsciiStringLiteral(value)}}}`;
}

/** A single POSIX shell word whose value is `value`: single quotes, with each `'` closed, escaped and reopened. */
export function shellWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const amiNamePattern = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

/** Why AWS would refuse `name` as an AMI name, or undefined when it accepts it. */
export function amiNameProblem(name: string): string | undefined {
  if (amiNamePattern.test(name)) return undefined;
  if (name.length < 3 || name.length > 128) return `"${name}" is ${name.length} characters long; AWS allows AMI names of 3 to 128 characters`;
  const refused = [...new Set([...name].filter((character) => !/^[A-Za-z0-9()[\] ./\-'@_]$/.test(character)))];
  return `${JSON.stringify(name)} contains ${refused.map((character) => JSON.stringify(character)).join(', ')}; AWS allows only letters, digits, spaces and ( ) [ ] . / - ' @ _ in AMI names`;
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `value` cannot reach AWS exactly as written, or undefined. */
export function uncarriableTextProblem(value: string): string | undefined {
  const match = loneSurrogate.exec(value);
  if (!match) return undefined;
  return `contains a lone UTF-16 surrogate (\\u${match[0].charCodeAt(0).toString(16)}) at position ${match.index}, which has no UTF-8 form and would arrive as U+FFFD. Remove it or complete the pair`;
}

/** Every string of `body` (map keys included) that cannot pass through Packer's templates, with the setting it is in. */
export function packerTemplateProblems(body: HclBody, where = ''): string[] {
  const problems: string[] = [];
  const visit = (value: HclValue, at: string): void => {
    if (typeof value === 'string') {
      const problem = packerTemplateProblem(value);
      if (problem) problems.push(`${at}: ${JSON.stringify(value)} ${problem}`);
    } else if (Array.isArray(value)) value.forEach((item: HclValue, index: number) => visit(item, `${at}[${index}]`));
    else if (typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const problem = packerTemplateProblem(key);
        if (problem) problems.push(`${at}: the key ${JSON.stringify(key)} ${problem}`);
        visit(item, `${at}.${key}`);
      }
    }
  };
  for (const entry of body) {
    if (entry.kind === 'attribute') visit(entry.value, `${where}${entry.name}`);
    else problems.push(...packerTemplateProblems(entry.body, `${where}${entry.type}.`));
  }
  return problems;
}

function templateValue(value: HclValue): HclValue {
  if (typeof value === 'string') return packerTemplateText(value);
  if (Array.isArray(value)) return value.map((item: HclValue) => templateValue(item));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [packerTemplateText(key), templateValue(item)]));
  return value;
}

/**
 * The same body with every string (map keys included) in its Go-template
 * form: for the source block and the provisioners, which Packer evaluates.
 */
export function packerTemplateBody(body: HclBody): HclBody {
  return body.map((entry) => (entry.kind === 'attribute' ? { ...entry, value: templateValue(entry.value) } : { ...entry, body: packerTemplateBody(entry.body) }));
}
