/** Reading an asset object from S3 (handler side), bounded before it is buffered. */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface ObjectLocation { readonly bucket: string; readonly key: string }

/**
 * The object's bytes; an object over `maxBytes` is refused before it is buffered, with an error that ends in `limit`
 * (what the bound stands for, e.g. "the catalog could take").
 */
export async function readObject(s3: S3Client, { bucket, key }: ObjectLocation, maxBytes: number, limit: string): Promise<Uint8Array> {
  // The asset bucket is in the stack's Region, which the SDK takes from the Lambda environment.
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
    // The unread body goes with the client, which the caller destroys.
    throw new Error(`s3://${bucket}/${key} is ${out.ContentLength} bytes, more than the ${maxBytes} ${limit}`);
  }
  const bytes = await out.Body.transformToByteArray();
  if (bytes.length > maxBytes) throw new Error(`s3://${bucket}/${key} is more than the ${maxBytes} bytes ${limit}`);
  return bytes;
}
