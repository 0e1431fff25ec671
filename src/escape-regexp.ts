/** `text` as a regular expression that matches exactly it (every character special to RegExp escaped). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
