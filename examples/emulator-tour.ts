/**
 * A tour of the local ECR Public emulator: starts it, drives it with the real SDK client, and pulls the pushed image
 * back with skopeo when skopeo is installed. Run with `npx projen demo`.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import {
  CompleteLayerUploadCommand, CreateRepositoryCommand, DescribeImagesCommand, DescribeRegistriesCommand, ECRPUBLICClient,
  GetRepositoryCatalogDataCommand, InitiateLayerUploadCommand, PutImageCommand, PutRegistryCatalogDataCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr-public';
import { startEmulator } from '../local';

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecr-public-demo-'));
  const emulator = await startEmulator({ dataDir });
  console.log(`Emulator listening on ${emulator.endpoint} (data in ${dataDir})`);
  const client = new ECRPUBLICClient({
    endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await client.send(new PutRegistryCatalogDataCommand({ displayName: 'Acme Corp' }));
    const { repository } = await client.send(new CreateRepositoryCommand({
      repositoryName: 'acme/hello',
      catalogData: { description: 'A tiny image pushed by the tour', architectures: ['x86-64'], operatingSystems: ['Linux'] },
    }));
    console.log(`Created ${repository!.repositoryArn}\n  URI ${repository!.repositoryUri}`);

    const blob = async (bytes: Buffer): Promise<string> => {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName: 'acme/hello' }));
      await client.send(new UploadLayerPartCommand({
        repositoryName: 'acme/hello', uploadId, partFirstByte: 0, partLastByte: bytes.length - 1, layerPartBlob: bytes,
      }));
      await client.send(new CompleteLayerUploadCommand({ repositoryName: 'acme/hello', uploadId, layerDigests: [digest] }));
      return digest;
    };
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = Buffer.from('not a real layer, but a real blob');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await blob(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await blob(layer), size: layer.length }],
    });
    const { image } = await client.send(new PutImageCommand({ repositoryName: 'acme/hello', imageManifest: manifest, imageTag: 'latest' }));
    console.log(`Pushed ${image!.imageId!.imageDigest} as :latest`);

    const { registries } = await client.send(new DescribeRegistriesCommand({}));
    const { catalogData } = await client.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'acme/hello' }));
    const { imageDetails } = await client.send(new DescribeImagesCommand({ repositoryName: 'acme/hello' }));
    console.log(`Registry ${registries![0].registryUri} (alias ${registries![0].aliases![0].name})`);
    console.log(`Catalog: ${catalogData!.description} [${catalogData!.architectures}] [${catalogData!.operatingSystems}]`);
    console.log(`Images: ${imageDetails!.map((i) => `${i.imageDigest} tags=${i.imageTags} size=${i.imageSizeInBytes}`).join('; ')}`);

    const skopeo = '/usr/bin/skopeo';
    if (fs.existsSync(skopeo)) {
      // Asynchronously: the emulator answers from this very process.
      const { stdout: raw } = await promisify(execFile)(skopeo,
        ['inspect', '--raw', '--tls-verify=false', `docker://${repository!.repositoryUri}:latest`], { encoding: 'buffer' });
      const pulled = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
      console.log(`skopeo pulled the manifest back: ${pulled} (${pulled === image!.imageId!.imageDigest ? 'matches' : 'DIFFERS'})`);
    } else {
      console.log('skopeo is not installed: skipped the pull-back (apt-get install -y skopeo)');
    }
    console.log(`\nInspect with the AWS CLI while an emulator runs on this data:\n  npx ecr-public-local serve --port 5000 --data ${dataDir}\n  aws ecr-public describe-repositories --endpoint-url http://127.0.0.1:5000 --region us-east-1`);
  } finally {
    await emulator.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
