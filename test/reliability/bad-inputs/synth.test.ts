/**
 * Bad inputs refused at synth by the constructs: names, lengths, enum-like values, logos, tags and policies. Each
 * case is refused with its cause and changes nothing (`expectRefusedAndUnchanged` in world.ts).
 */
import * as path from 'node:path';
import { RemovalPolicy, Tags, aws_iam as iam } from 'aws-cdk-lib';
import { archives, BadInput, cdkOut, describeBadInputs, FIXTURES, NEVER_READ, outside, PNG, re, repo, setUpWorld, synthFailure, tampered, tmpLogo, writeArchive } from './world';
import { Architecture, CatalogText, ImageSource, Logo, OperatingSystem, PublicImage, PublicRegistry, PublicRepository, PublicRepositoryPolicy } from '../../../src';
import { tarBytes } from '../../support/tar-files';
setUpWorld({ hostile: true });

const CATALOGUE: Array<[string, BadInput]> = [
  // --- Names, lengths, enum-like values, logos, tags and policies, refused at synth by the constructs -------------
  ['synth: repository name of 1 character', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'a' })), cause: /BadStack\/Repo: repositoryName must be 2 to 205 characters \(got 1 characters: "a"\)/,
  }],
  ['synth: repository name of 206 characters', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'x'.repeat(206) })), cause: /repositoryName must be 2 to 205 characters \(got 206 characters/,
  }],
  ['synth: repository name in upper case', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'Acme/Web' })), cause: /repositoryName must be lower-case letters and digits.*\(got "Acme\/Web"\)/,
  }],
  ['synth: repository name with an empty component', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: 'acme//web' })), cause: /repositoryName must be lower-case.*\(got "acme\/\/web"\)/,
  }],
  ['synth: repository name with a path traversal', {
    at: 'synth', act: () => synthFailure(repo({ repositoryName: '../etc/passwd' })), cause: /repositoryName must be lower-case.*\(got "\.\.\/etc\/passwd"\)/,
  }],
  ['synth: imported repository with an invalid name', {
    at: 'synth', act: () => synthFailure((s) => PublicRepository.fromRepositoryName(s, 'Imported', 'Not Valid')), cause: /BadStack: repositoryName must be lower-case.*\(got "Not Valid"\)/,
  }],
  ['synth: description of 1,025 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', description: 'd'.repeat(1025) })),
    cause: /BadStack\/Repo: description must be at most 1024 characters \(got 1025 characters\)/,
  }],
  ['synth: about text of 25,601 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', aboutText: CatalogText.fromString('a'.repeat(25_601)) })),
    cause: /aboutText must be at most 25600 characters \(got 25601 characters\)/,
  }],
  ['synth: usage text of 25,601 characters', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', usageText: CatalogText.fromString('u'.repeat(25_601)) })),
    cause: /usageText must be at most 25600 characters \(got 25601 characters\)/,
  }],
  ['synth: registry display name of 101 characters', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRegistry(s, 'Registry', { displayName: 'n'.repeat(101) })),
    cause: /BadStack\/Registry: displayName must be at most 100 characters \(got 101 characters\)/,
  }],
  ['synth: 51 architectures', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', architectures: Array.from({ length: 51 }, (_, i) => Architecture.of(`a${i}`)) })),
    cause: /architectures must have at most 50 items \(got 51 items\)/,
  }],
  ['synth: an empty architecture value passed through Architecture.of', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', architectures: [Architecture.X86_64, Architecture.of('')] })),
    cause: /architectures\[1\] must be 1 to 50 characters \(got ""\)/,
  }],
  ['synth: an operating system of 51 characters passed through OperatingSystem.of', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', operatingSystems: [OperatingSystem.of('o'.repeat(51))] })),
    cause: /operatingSystems\[0\] must be 1 to 50 characters/,
  }],
  ['synth: a GIF logo', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(path.join(FIXTURES, 'not-a-logo.gif')) })),
    cause: /BadStack\/Repo: logo must be a PNG or JPEG image \(checked by its signature\)/,
  }],
  ['synth: an empty logo', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(tmpLogo('empty.png', Buffer.alloc(0))) })),
    cause: /logo must be 1 to 512000 bytes \(got 0 bytes/,
  }],
  ['synth: a logo of 512,001 bytes', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(tmpLogo('big.png', Buffer.concat([PNG, Buffer.alloc(512_001 - PNG.length)]))) })),
    cause: /logo must be 1 to 512000 bytes \(got 512001 bytes/,
  }],
  ['synth: a logo file that does not exist', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', logo: Logo.fromFile(path.join(cdkOut, 'nope.png')) })),
    cause: /logo must be an existing file/,
  }],
  ['synth: a tag key with the reserved aws: prefix', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('aws:owner', 'me')),
    cause: /BadStack\/Repo.*tag key "aws:owner" must not start with 'aws:'/s,
  }],
  ['synth: a tag key of 129 characters', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('k'.repeat(129), 'v')),
    cause: /tag key "k{60}\.\.\." must be 1 to 128 characters/,
  }],
  ['synth: a tag key with # (outside AWS\'s tag characters)', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('team#1', 'web')),
    cause: /BadStack\/Repo.*tag key "team#1" may contain only letters, digits, spaces and '_ \. : \/ = \+ - @'/s,
  }],
  ['synth: a tag value with braces', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('owner', '{me}')),
    cause: /BadStack\/Repo.*tag value of "owner" may contain only letters/s,
  }],
  ['synth: a tag value of 257 characters', {
    at: 'synth',
    act: () => synthFailure((s) => Tags.of(new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })).add('owner', 'v'.repeat(257))),
    cause: /tag value of "owner" must be at most 256 characters/,
  }],
  ['synth: 51 tags', {
    at: 'synth',
    act: () => synthFailure((s) => {
      const r = new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' });
      for (let i = 0; i < 51; i++) Tags.of(r).add(`k${i}`, 'v');
    }),
    cause: /tags must number at most 50 \(got 51\)/,
  }],
  ['synth: emptyOnDelete on a retained repository', {
    at: 'synth',
    act: () => synthFailure(repo({ repositoryName: 'acme/web', emptyOnDelete: true, removalPolicy: RemovalPolicy.RETAIN })),
    cause: /BadStack\/Repo: emptyOnDelete requires removalPolicy: RemovalPolicy.DESTROY/,
  }],
  ['synth: a policy statement without a principal', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' })
      .addToResourcePolicy(new iam.PolicyStatement({ actions: ['ecr-public:PutImage'] }))),
    cause: /\[BadStack\/Repo\] policy: statement 0 must name principals/,
  }],
  ['synth: a policy without statements', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicRepositoryPolicy(s, 'Policy', { repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web') })),
    cause: /\[BadStack\/Policy\] document: must have at least one statement/,
  }],
  ['synth: a policy of more than 10,240 characters', {
    at: 'synth',
    act: () => synthFailure((s) => {
      const r = new PublicRepository(s, 'Repo', { repositoryName: 'acme/web' });
      for (let i = 0; i < 200; i++) {
        r.addToResourcePolicy(new iam.PolicyStatement({
          sid: `S${i}`, actions: ['ecr-public:PutImage'], principals: [new iam.AccountPrincipal(String(100000000000 + i))],
        }));
      }
    }),
    cause: /\[BadStack\/Repo\] policy: must be at most 10240 characters as JSON \(got \d+\)/,
  }],
  ['synth: an image with a duplicate tag', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['v1', 'v1'],
    })),
    cause: /BadStack\/Image: tags must not repeat a tag \(got \["v1","v1"\]\)/,
  }],
  ['synth: an image tag with a space', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['v 1'],
    })),
    cause: /BadStack\/Image: tags\[0\] must match \[a-zA-Z0-9_\]\[a-zA-Z0-9._-\]\{0,127\} \(got "v 1"\)/,
  }],
  ['synth: an image tag of 129 characters', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), tags: ['t'.repeat(129)],
    })),
    cause: /tags\[0\] must match/,
  }],
  ['synth: an image concurrency of 0', {
    at: 'synth',
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(NEVER_READ), concurrency: 0,
    })),
    cause: /BadStack\/Image: concurrency must be an integer from 1 to 32 \(got 0\)/,
  }],
  ['synth: an image source that is not an archive', {
    at: 'synth',
    prepare: () => writeArchive('notes.txt', Buffer.from('these are notes, not an image\n'.repeat(40))),
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(path.join(archives, 'notes.txt')),
    })),
    cause: () => new RegExp(`BadStack/Image: source .*${re(path.join(archives, 'notes.txt'))}: is not an image archive \\(not a tar file`),
  }],
  ['synth: an image tarball with a path-traversal entry, through PublicImage', {
    at: 'synth',
    prepare: () => writeArchive('construct-traversal.tar', tarBytes(tampered({}, [{ name: '../../outside/planted-by-construct', data: 'x' }]))),
    act: () => synthFailure((s) => new PublicImage(s, 'Image', {
      repository: PublicRepository.fromRepositoryName(s, 'Imported', 'acme/web'), source: ImageSource.fromTarball(path.join(archives, 'construct-traversal.tar')),
    })),
    cause: /BadStack\/Image: source .*construct-traversal\.tar: entry at offset \d+: unsafe entry name with a '\.\.' component "\.\.\/\.\.\/outside\/planted-by-construct"/,
    neverCreated: () => [path.join(outside, 'planted-by-construct')],
  }],
];

describeBadInputs('at synth, by the constructs', CATALOGUE, 31);
