import * as fs from 'fs';
import { IConstruct } from 'constructs';
import { invalid } from './private/validation';

/** Markdown for a repository's "About" or "Usage" section, given inline or read from a file at synth time. */
export abstract class CatalogText {
  /** Text given inline (it may contain tokens). */
  public static fromString(text: string): CatalogText {
    return new InlineText(text);
  }

  /**
   * Text read from a UTF-8 file at synth time, when the construct it is given to is made: a missing file fails synth
   * with that construct's path and property.
   */
  public static fromFile(filePath: string): CatalogText {
    return new FileText(filePath);
  }

  /** The markdown text. */
  public abstract readonly text: string;

  /**
   * The text, for the property `prop` of `scope`: a text that cannot be had fails naming both.
   * @internal
   */
  public _textFor(_scope: IConstruct, _prop: string): string {
    return this.text;
  }
}

class InlineText extends CatalogText {
  constructor(public readonly text: string) {
    super();
  }
}

class FileText extends CatalogText {
  constructor(private readonly filePath: string) {
    super();
  }

  public get text(): string {
    return fs.readFileSync(this.filePath, 'utf8');
  }

  public _textFor(scope: IConstruct, prop: string): string {
    try {
      return this.text;
    } catch (err) {
      const cause = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
      return invalid(scope, prop, `is CatalogText.fromFile('${this.filePath}'), whose file ${cause}`);
    }
  }
}
