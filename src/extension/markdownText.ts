/**
 * Text as text in a Markdown hover, with ordinary spaces so it wraps between words (MarkdownString.appendText
 * turns every space into a non-breaking one, which made hovers wrap mid-word: "Th e 185"). Every ASCII
 * punctuation character is backslash-escaped, so nothing in the text becomes emphasis, a link, an autolink, a
 * theme icon or a code span; `<` and `&` are written as entities, so nothing becomes HTML. Line breaks become
 * spaces. No vscode import: unit-tested on its own.
 */
export function plainMarkdown(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[!-/:-@[-`{-~]/g, (character) => (character === '&' ? '&amp;' : character === '<' ? '&lt;' : `\\${character}`));
}
