/**
 * Fixtures of the ECR Public side: unique repository names, a real PNG logo, and a small image pushed with the
 * publisher's own layered upload (the one way blobs are uploaded in tests).
 */
import { randomBytes } from 'node:crypto';
// zlib.crc32: Node 20.15 and later, inside the package's engines (>= 20.16).
import { crc32, deflateSync } from 'node:zlib';
import { ECRPUBLICClient, PutImageCommand } from '@aws-sdk/client-ecr-public';
import { uploadLayerToEcrPublic } from '../../lambda/image-publisher/blob-uploader';
import { sha256 } from '../../src/shared/oci/digest';
import { OCI_MANIFEST } from '../../src/shared/oci/media-types';

let counter = 0;
/** A unique, valid repository name. */
export function uniqueName(prefix = 'handler'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A real PNG (signature, IHDR, IDAT, IEND with valid CRCs) of `size`×`size` RGB pixels in `rgb`. */
export function makePng(size: number, rgb: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    return Buffer.concat([head, typeAndData, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Uploads `data` as one blob with the image publisher's own layered upload (the one way blobs are uploaded here);
 * returns its digest.
 */
async function uploadTestBlob(client: ECRPUBLICClient, repositoryName: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await uploadLayerToEcrPublic(client, repositoryName, {
    digest,
    size: data.length,
    open: async function* () {
      yield data;
    },
    verify: (streamed) => {
      if (streamed.digest !== digest) throw new Error(`streamed ${streamed.digest}, not ${digest}`);
    },
  });
  return digest;
}

/** Pushes a small OCI image (a config and one layer) tagged `tag`, so that the repository is not empty. */
export async function pushSmallImage(client: ECRPUBLICClient, repositoryName: string, tag: string): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(256);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await uploadTestBlob(client, repositoryName, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await uploadTestBlob(client, repositoryName, layer), size: layer.length }],
  });
  const out = await client.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: tag }));
  return out.image!.imageId!.imageDigest!;
}
