/**
 * `PublicImage.artifacts` (`ImageArtifact.fromFile`) and `includeReferrers` at synth: the files staged as one asset of
 * their own with a plan, content-addressed; every bad input refused naming the construct path, the property and the
 * rule.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { newStack, resourcesOfType } from './support';
import { ImageArtifact, ImageArtifactOptions, ImageSource, PublicImage, PublicImageProps, PublicRepository } from '../../src';
import { sha256 } from '../../src/shared/oci/digest';
import { OciLayoutImage } from '../support/oci-layout';
import { attachToLayout } from '../support/oci-referrers';
import { makeTempDir, removeTempDir } from '../support/temp-dirs';
import { buildImage } from '../support/umoci-images';

const IMAGE = 'Custom::EcrPublicImage';
const SBOM = 'application/spdx+json';

let dir: string;
let layout: string;
let built: OciLayoutImage;
let sbomFile: string;

beforeAll(async () => {
  dir = makeTempDir('artifacts-construct-');
  layout = path.join(dir, 'layout');
  built = await buildImage(layout, { tag: 'v1', files: { '/hello.txt': 'hello\n' } });
  sbomFile = path.join(dir, 'sbom.spdx.json');
  fs.writeFileSync(sbomFile, '{"spdxVersion":"SPDX-2.3"}');
});

afterAll(() => removeTempDir(dir));

function imageStack(props: Partial<PublicImageProps> = {}): Stack {
  const stack = newStack();
  const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
  new PublicImage(stack, 'Image', { repository, source: ImageSource.fromOciLayout(layout), ...props });
  return stack;
}

function imageProperties(stack: Stack): any {
  return Object.values(resourcesOfType(stack, IMAGE))[0].Properties;
}

function sbom(options: Partial<ImageArtifactOptions> = {}, file = sbomFile): ImageArtifact {
  return ImageArtifact.fromFile(file, { artifactType: SBOM, ...options });
}

describe('artifacts', () => {
  test('the files are planned (type, media type, title, annotations, digest, where in their own asset)', () => {
    const p = imageProperties(imageStack({ artifacts: [sbom({ annotations: { 'org.opencontainers.image.created': '2026-12-06' } })] }));
    const plan = JSON.parse(p.Artifacts);
    const bytes = fs.readFileSync(sbomFile);
    expect(plan).toEqual({
      version: 1,
      artifacts: [{
        artifactType: SBOM,
        mediaType: 'application/octet-stream',
        title: 'sbom.spdx.json',
        digest: sha256(bytes),
        size: bytes.length,
        annotations: { 'org.opencontainers.image.created': '2026-12-06' },
        offset: 512,
      }],
    });
    expect(p.ArtifactsKey).toMatch(/^[0-9a-f]{64}\.tar$/);
    expect(p.ArtifactsKey).not.toBe(p.ArchiveKey);
  });

  test('an unchanged file is an unchanged plan and asset; a changed file changes both', () => {
    const first = imageProperties(imageStack({ artifacts: [sbom()] }));
    expect(imageProperties(imageStack({ artifacts: [sbom()] }))).toMatchObject({ Artifacts: first.Artifacts, ArtifactsKey: first.ArtifactsKey });
    const other = path.join(dir, 'other.spdx.json');
    fs.writeFileSync(other, '{"spdxVersion":"SPDX-2.2"}');
    const changed = imageProperties(imageStack({ artifacts: [sbom({}, other)] }));
    expect(changed.Artifacts).not.toBe(first.Artifacts);
    expect(changed.ArtifactsKey).not.toBe(first.ArtifactsKey);
  });

  test('no artifacts: no artifact properties (the resource is as before)', () => {
    const p = imageProperties(imageStack());
    expect(p.Artifacts).toBeUndefined();
    expect(p.ArtifactsBucket).toBeUndefined();
    expect(p.ArtifactsKey).toBeUndefined();
  });

  test.each<[string, () => ImageArtifact, RegExp]>([
    ['a malformed artifactType', () => sbom({ artifactType: 'spdx' }), /Image: artifacts\[0\]\.artifactType must be a media type \(type\/subtype, RFC 6838\) \(got "spdx"\)/],
    ['a malformed mediaType', () => sbom({ mediaType: 'text plain' }), /Image: artifacts\[0\]\.mediaType must be a media type/],
    ['an empty annotation key', () => sbom({ annotations: { '': 'x' } }), /Image: artifacts\[0\]\.annotations must map non-empty keys to strings/],
    ['a missing file', () => sbom({}, path.join(dir, 'missing.json')), /Image: artifacts\[0\] must name a readable file: .*ENOENT/],
    ['a directory', () => sbom({}, dir), /Image: artifacts\[0\] must name a regular file/],
    ['an empty file', () => {
      const empty = path.join(dir, 'empty.json');
      fs.writeFileSync(empty, '');
      return sbom({}, empty);
    }, /Image: artifacts\[0\] must be a file of 1 byte to 10485760000 bytes .* \(got 0 bytes\)/],
  ])('%s is refused, naming the path, the property and the rule', (_, artifact, message) => {
    expect(() => imageStack({ artifacts: [artifact()] })).toThrow(message);
  });

  test('the same artifact twice is refused', () => {
    expect(() => imageStack({ artifacts: [sbom(), sbom()] })).toThrow(/Image: artifacts\[1\] must not repeat artifacts\[0\]/);
  });
});

describe('includeReferrers', () => {
  test('a layout\'s referrers are planned by default, and left out with includeReferrers: false', () => {
    const withReferrer = path.join(dir, 'with-referrer');
    fs.cpSync(layout, withReferrer, { recursive: true });
    const attached = attachToLayout(withReferrer, built.root, { artifactType: SBOM, content: 'sbom' });
    const plan = (props: Partial<PublicImageProps>) => {
      const stack = newStack();
      const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
      new PublicImage(stack, 'Image', { repository, source: ImageSource.fromOciLayout(withReferrer), ...props });
      return JSON.parse(imageProperties(stack).Plan);
    };
    expect(plan({}).referrers.map((r: any) => r.digest)).toEqual([attached.digest]);
    expect(plan({ includeReferrers: false }).referrers).toBeUndefined();
  });

  test('a registry source says IncludeReferrers false only when told', () => {
    const stack = newStack();
    const repository = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web' });
    new PublicImage(stack, 'On', { repository, source: ImageSource.fromRegistry('ghcr.io/acme/tool:1') });
    new PublicImage(stack, 'Off', { repository, source: ImageSource.fromRegistry('ghcr.io/acme/tool:1'), includeReferrers: false });
    const props = Object.values(resourcesOfType(stack, IMAGE)).map((r: any) => r.Properties.IncludeReferrers);
    expect(props).toEqual([undefined, 'false']);
  });
});
