import * as fs from 'fs';

/** Markdown for a repository's "About" or "Usage" section, given inline or read from a file at synth time. */
export abstract class CatalogText {
  /** Text given inline (it may contain tokens). */
  public static fromString(text: string): CatalogText {
    return new InlineText(text);
  }

  /** Text read from a UTF-8 file at synth time. */
  public static fromFile(filePath: string): CatalogText {
    if (!fs.existsSync(filePath)) throw new Error(`CatalogText.fromFile: '${filePath}' does not exist`);
    return new InlineText(fs.readFileSync(filePath, 'utf8'));
  }

  /** The markdown text. */
  public abstract readonly text: string;
}

class InlineText extends CatalogText {
  constructor(public readonly text: string) {
    super();
  }
}
