/**
 * XML in, for the small request bodies S3 takes (Delete, CompleteMultipartUpload,
 * CreateBucketConfiguration): elements, text, CDATA, comments, the five predefined entities and
 * character references. DOCTYPE, entity declarations and processing instructions other than the
 * XML declaration are refused, so nothing a body says can expand or reach a file.
 */
import { s3Error } from './errors.js';

export interface XmlElement {
  /** Local name: a namespace prefix is dropped. */
  readonly name: string;
  readonly children: XmlElement[];
  /** The element's own text (character data and CDATA, entities resolved), untrimmed. */
  text: string;
}

/** Bodies larger than this are not S3 control documents (10,000 parts fit in about 1 MB). */
export const MAX_XML_BYTES = 2 * 1024 * 1024;
const MAX_DEPTH = 16;

const malformed = (why: string) =>
  s3Error('MalformedXML', `The XML you provided was not well-formed or did not validate: ${why}`);

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NAME = /^[A-Za-z_][\w.:-]*/;

function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]{0,10});?/g, (all, ent: string) => {
    if (!all.endsWith(';')) throw malformed('an unterminated entity reference');
    switch (ent) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const m = /^#(x[0-9a-fA-F]{1,6}|[0-9]{1,7})$/.exec(ent);
    if (!m) throw malformed(`the entity &${ent.slice(0, 10)}; (only predefined entities are accepted)`);
    const digits = m[1] as string;
    const cp = digits.startsWith('x') ? Number.parseInt(digits.slice(1), 16) : Number(digits);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw malformed('a character reference out of range');
    return String.fromCodePoint(cp);
  });
}

/** Parses a document into its root element; throws MalformedXML for anything unexpected. */
export function parseXml(body: Buffer | string): XmlElement {
  if (body.length > MAX_XML_BYTES) throw s3Error('MaxMessageLengthExceeded', 'Your request was too big.');
  let s: string;
  try {
    s = typeof body === 'string' ? body : UTF8.decode(body);
  } catch {
    throw malformed('the body is not UTF-8');
  }
  const stack: XmlElement[] = [];
  let top: XmlElement | undefined;
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? s.length : lt;
    if (textEnd > i) {
      const text = s.slice(i, textEnd);
      const cur = stack[stack.length - 1];
      if (cur) cur.text += decodeEntities(text);
      else if (text.trim() !== '') throw malformed('text outside the root element');
    }
    if (lt < 0) break;
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt);
      if (end < 0) throw malformed('an unterminated declaration');
      if (!/^<\?xml\s/.test(s.slice(lt, lt + 6)) || top !== undefined || stack.length > 0 || lt > 1)
        throw malformed('a processing instruction');
      i = end + 2;
    } else if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4);
      if (end < 0) throw malformed('an unterminated comment');
      i = end + 3;
    } else if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9);
      const cur = stack[stack.length - 1];
      if (end < 0 || !cur) throw malformed('a CDATA section outside an element');
      cur.text += s.slice(lt + 9, end);
      i = end + 3;
    } else if (s.startsWith('<!', lt)) {
      throw malformed('DOCTYPE and entity declarations are not accepted');
    } else if (s.startsWith('</', lt)) {
      const end = s.indexOf('>', lt);
      const name = end < 0 ? '' : s.slice(lt + 2, end).trim();
      const cur = stack.pop();
      if (!cur || end < 0 || localName(name) !== cur.name) throw malformed('mismatched closing tag');
      i = end + 1;
    } else {
      const end = s.indexOf('>', lt);
      if (end < 0) throw malformed('an unterminated tag');
      let tag = s.slice(lt + 1, end);
      const selfClosing = tag.endsWith('/');
      if (selfClosing) tag = tag.slice(0, -1);
      const m = NAME.exec(tag);
      if (!m) throw malformed('a tag without a name');
      const attrs = tag.slice(m[0].length);
      // Attributes (xmlns) are read past, not used; they must still look like attributes.
      if (!/^(\s+[A-Za-z_][\w.:-]*\s*=\s*("[^"<]*"|'[^'<]*'))*\s*$/.test(attrs))
        throw malformed('a malformed attribute');
      if (top !== undefined && stack.length === 0) throw malformed('more than one root element');
      const node: XmlElement = { name: localName(m[0]), children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else top = node;
      if (!selfClosing) {
        stack.push(node);
        if (stack.length > MAX_DEPTH) throw malformed('nested too deeply');
      }
      i = end + 1;
    }
  }
  if (!top || stack.length > 0) throw malformed(top ? 'an unclosed element' : 'no root element');
  return top;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/** The children named `name`. */
export function childrenOf(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => c.name === name);
}

/** The text of the one child named `name`, or undefined; more than one is malformed. */
export function childText(e: XmlElement, name: string): string | undefined {
  const found = childrenOf(e, name);
  if (found.length > 1) throw malformed(`more than one ${name} in ${e.name}`);
  return found[0]?.text;
}

export function expectRoot(e: XmlElement, name: string): XmlElement {
  if (e.name !== name) throw malformed(`the root element is ${e.name.slice(0, 40)}, not ${name}`);
  return e;
}
