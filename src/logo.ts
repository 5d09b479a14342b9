import { Construct } from 'constructs';
import { stageFileAsset } from './private/file-asset';

/** The S3 location of a logo, as bound into a stack. */
export interface LogoConfig {
  /** The bucket holding the logo. */
  readonly bucketName: string;
  /** The object key of the logo. */
  readonly objectKey: string;
  /** The ARN of the objects of the logo's asset bucket, for read grants (the bucket holds the stack's assets only). */
  readonly assetObjectsArn: string;
}

/**
 * A repository logo. The file ships as an S3 asset (the template carries its location, never its bytes), and is checked
 * at synth time: PNG or JPEG by signature, 1 to 512,000 bytes.
 */
export abstract class Logo {
  /** A PNG or JPEG file. */
  public static fromFile(filePath: string): Logo {
    return new FileLogo(filePath);
  }

  /** The local file of the logo. */
  public abstract readonly filePath: string;

  /** Binds the logo into `scope`'s stack as an asset. */
  public abstract bind(scope: Construct): LogoConfig;
}

class FileLogo extends Logo {
  constructor(public readonly filePath: string) {
    super();
  }

  public bind(scope: Construct): LogoConfig {
    // One asset per stack and content: a logo shared by repositories of one stack is published once, and to each stack
    // that uses it.
    const asset = stageFileAsset(scope, this.filePath);
    return { bucketName: asset.bucketName, objectKey: asset.objectKey, assetObjectsArn: asset.objectsArn };
  }
}
