/**
 * A small reader of the bench charts' SVG for the tests: checks that the markup is well formed (every tag closed
 * in order, attributes quoted, no script) and lists its elements with their attributes and text.
 */
export interface Element {
  name: string;
  attributes: Record<string, string>;
  /** The text directly inside it, entities decoded. */
  text: string;
}

const decode = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

/** The elements of `svg` in document order; throws on markup a browser would not read as one SVG image. */
export function parseSvg(svg: string): Element[] {
  const elements: Element[] = [];
  const open: Element[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  let roots = 0;
  for (let match = token.exec(svg); match; match = token.exec(svg)) {
    const [, closing, name, attributeText, selfClosing, text, stray] = match;
    if (stray) throw new Error(`a "<" that opens no tag at ${match.index}`);
    if (text !== undefined) {
      if (/&(?!(lt|gt|quot|amp|#\d+);)/.test(text)) throw new Error(`an unescaped & in ${text}`);
      if (open.length === 0) {
        if (text.trim()) throw new Error(`text outside the root: ${text}`);
        continue;
      }
      open.at(-1)!.text += decode(text);
      continue;
    }
    if (closing) {
      const top = open.pop();
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [, key, value] of attributeText!.matchAll(/([\w:-]+)="([^"]*)"/g))
      attributes[key!] = decode(value!);
    const element = { name: name!, attributes, text: '' };
    if (open.length === 0) roots++;
    elements.push(element);
    if (!selfClosing) open.push(element);
  }
  if (open.length > 0) throw new Error(`<${open.at(-1)!.name}> is never closed`);
  if (roots !== 1 || elements[0]?.name !== 'svg') throw new Error('not one <svg> root');
  if (elements.some((e) => e.name === 'script' || Object.keys(e.attributes).some((k) => k.startsWith('on'))))
    throw new Error('script in a chart');
  return elements;
}

/** The texts of the <text> elements. */
export const textsOf = (elements: Element[]) => elements.filter((e) => e.name === 'text').map((e) => e.text);
