/**
 * Text as the terminal may show it: control characters (an escape sequence that a server, a file or a model name
 * put in its text would recolour the terminal or retitle it) become U+FFFD; line breaks and tabs stay.
 */
export function terminalText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD');
}
