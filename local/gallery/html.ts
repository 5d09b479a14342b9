/**
 * HTML text of the Gallery preview pages. Pages are built with the `html` template tag, which escapes every
 * interpolated value unless it is already `Html`: catalog data, names and tags are client input, and a forgotten escape
 * must not be possible by construction.
 */

/** Text that is HTML already (escaped or rendered by the markdown renderer); interpolated as is. */
export class Html {
  constructor(public readonly text: string) {}

  public toString(): string {
    return this.text;
  }
}

/** What an `html` template may interpolate: escaped text, `Html`, or lists of either (joined); undefined is empty. */
export type HtmlValue = Html | string | number | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function interpolate(value: HtmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  return escapeHtml(String(value));
}

/** The template tag: `html\`<h1>${name}</h1>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let text = strings[0];
  for (let i = 0; i < values.length; i++) text += interpolate(values[i]) + strings[i + 1];
  return new Html(text);
}
