/**
 * The desired catalog data of a repository, as the handlers send it: built from a resource's catalog fields, with the
 * texts and the logo read from their S3 assets. Shared by the repository handler and the catalog-data handler.
 */
import { RepositoryCatalogDataInput } from '@aws-sdk/client-ecr-public';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectLocation, readObject } from './s3-object';
import { CatalogFields } from '../../src/shared/handler-contract';

/**
 * How much of an asset is read at most: twice what the API could take (25,600 characters of up to 4 UTF-8 bytes; a
 * logo of 512,000 bytes). Anything larger is refused unread; anything between is sent, so that the API's own error says
 * what is wrong.
 */
const MAX_TEXT_BYTES = 2 * 25_600 * 4;
const MAX_LOGO_BYTES = 2 * 512_000;
const CATALOG_LIMIT = 'the catalog could take';

/**
 * Every field, empty when not asked: whether the service replaces the catalog or merges into it (undocumented), a field
 * removed from the app is then cleared.
 */
export async function desiredCatalog(props: CatalogFields): Promise<RepositoryCatalogDataInput> {
  const s3 = new S3Client({});
  try {
    const [aboutText, usageText, logo] = await Promise.all([
      catalogText(s3, 'AboutText', props.AboutText, props.AboutTextBucket, props.AboutTextKey),
      catalogText(s3, 'UsageText', props.UsageText, props.UsageTextBucket, props.UsageTextKey),
      readLogo(s3, props),
    ]);
    return {
      description: props.Description ?? '',
      architectures: props.Architectures ?? [],
      operatingSystems: props.OperatingSystems ?? [],
      aboutText,
      usageText,
      logoImageBlob: logo ?? new Uint8Array(0),
    };
  } finally {
    s3.destroy();
  }
}

/** Whether the fields ask for no catalog at all (a new repository has none, so there is nothing to put). */
export function isEmptyCatalog(props: CatalogFields): boolean {
  const values = [
    props.Description, props.AboutText, props.AboutTextKey, props.UsageText, props.UsageTextKey, props.LogoKey,
  ];
  return values.every((v) => v === undefined || v === '')
    && (props.Architectures ?? []).length === 0 && (props.OperatingSystems ?? []).length === 0;
}

/** A text given inline, or read from its asset; '' when there is none. */
async function catalogText(
  s3: S3Client, field: string, inline: string | undefined, bucket: string | undefined, key: string | undefined,
): Promise<string> {
  if (inline !== undefined && key !== undefined) throw new Error(`${field} is given both inline and as the asset ${key}: give one`);
  if (inline !== undefined) return inline;
  const location = assetLocation(`${field}Bucket`, bucket, `${field}Key`, key);
  if (!location) return '';
  const bytes = await readObject(s3, location, MAX_TEXT_BYTES, CATALOG_LIMIT);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`The ${field} asset s3://${location.bucket}/${location.key} is not UTF-8 text`);
  }
}

/** The logo's bytes from the asset bucket, or undefined when the catalog has no logo. */
async function readLogo(s3: S3Client, props: CatalogFields): Promise<Uint8Array | undefined> {
  const location = assetLocation('LogoBucket', props.LogoBucket, 'LogoKey', props.LogoKey);
  if (!location) return undefined;
  const bytes = await readObject(s3, location, MAX_LOGO_BYTES, CATALOG_LIMIT);
  // An empty blob would clear the logo: a logo that was asked for and is empty is an error, not a removal.
  if (bytes.length === 0) throw new Error(`The logo s3://${location.bucket}/${location.key} is empty`);
  return bytes;
}

function assetLocation(bucketName: string, bucket: string | undefined, keyName: string, key: string | undefined): ObjectLocation | undefined {
  if (bucket === undefined && key === undefined) return undefined;
  if (!bucket || !key) {
    throw new Error(`${bucketName} and ${keyName} go together (got ${bucketName} '${bucket ?? ''}', ${keyName} '${key ?? ''}')`);
  }
  return { bucket, key };
}
