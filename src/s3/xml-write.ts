/**
 * XML out: every text value is escaped (keys hold `&`, `<`, quotes and control characters); only
 * Xml values built by `el` pass unescaped, so no caller can forget to escape.
 */

/** Markup already escaped: the only thing `el` does not escape again. */
export class Xml {
  constructor(readonly text: string) {}
}

type Child = Xml | string | number | boolean | undefined | null;

const ESC: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what XML 1.0 cannot carry
const NEEDS_ESCAPE = /[&<>"'\u0000-\u0008\u000b-\u001f\ufffe\uffff]/g;

/**
 * Text as XML 1.0 character data. Characters XML 1.0 cannot carry literally (C0 controls, CR
 * which parsers fold into LF) become character references, as AWS writes them.
 */
export function escapeXml(s: string): string {
  return s.replace(NEEDS_ESCAPE, (c) => {
    const named = ESC[c];
    return named ?? `&#x${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()};`;
  });
}

/** `<name>children</name>`; undefined and null children are left out, the rest escaped. */
export function el(name: string, ...children: Child[]): Xml {
  let inner = '';
  for (const c of children) {
    if (c === undefined || c === null) continue;
    inner += c instanceof Xml ? c.text : escapeXml(String(c));
  }
  return new Xml(`<${name}>${inner}</${name}>`);
}

/** `<name>` with the S3 namespace: the root element of every answer. */
export function root(name: string, ...children: Child[]): Xml {
  const inner = el(name, ...children).text.slice(name.length + 2);
  return new Xml(`<${name} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}`);
}

export function doc(top: Xml): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${top.text}`;
}
