import * as fs from 'fs';
import * as path from 'path';
import { awscdk, javascript, JsonFile } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

/** Node.js version the Lambda handlers are bundled for (the Lambda runtime is Node.js 22). */
const HANDLER_TARGET = 'node22';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-ecr-public',
  description: 'AWS CDK constructs for Amazon ECR Public: repositories, catalog data, policies, the registry catalog, and images published at deploy time.',
  author: 'cdk-ecr-public maintainers',
  authorAddress: 'maintainers@users.noreply.cdk-ecr-public.example',
  repositoryUrl: 'https://github.com/cdk-ecr-public/cdk-ecr-public.git',
  keywords: ['cdk', 'aws-cdk', 'ecr', 'ecr-public', 'container', 'docker', 'oci'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  cdkVersion: '2.189.1',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  minNodeVersion: '20.16.0',

  // No hosted CI, release machinery or bots: the project is built and tested by `.ci/run`.
  github: false,
  release: false,
  depsUpgrade: false,
  buildWorkflow: false,
  pullRequestTemplate: false,
  vscode: false,
  // Handlers live in the top-level `lambda/` folder and are bundled by our own task.
  lambdaAutoDiscover: false,

  // Every language Construct Hub shows, named as published construct libraries name theirs (cdk-nag: cdk-nag /
  // cdk_nag, io.github.cdklabs.cdknag, Cdklabs.CdkNag, github.com/cdklabs/cdk-nag-go).
  publishToPypi: { distName: 'cdk-ecr-public', module: 'cdk_ecr_public' },
  publishToMaven: {
    javaPackage: 'io.github.cdkecrpublic.cdkecrpublic',
    mavenGroupId: 'io.github.cdk-ecr-public',
    mavenArtifactId: 'cdk-ecr-public',
  },
  publishToNuget: { dotNetNamespace: 'CdkEcrPublic', packageId: 'CdkEcrPublic' },
  publishToGo: { moduleName: 'github.com/cdk-ecr-public/cdk-ecr-public-go', packageName: 'cdkecrpublic' },

  devDeps: [
    '@aws-sdk/client-ecr@^3.1108.0',
    '@aws-sdk/client-ecr-public@^3.1108.0',
    '@aws-sdk/client-s3@^3.1108.0',
    '@aws-sdk/client-secrets-manager@^3.1108.0',
    // The publisher's one Lambda call (Invoke of its own function) signs with the SDK's own signer and credential chain.
    '@aws-sdk/credential-provider-node@^3.972.98',
    '@smithy/signature-v4@^5.7.5',
    '@smithy/types@^4.20.0',
    'esbuild@^0.28.0',
    'cdk-nag@^2.36.8',
    'jest-junit@^17',
    '@aws-cdk/integ-runner@^2.197.0',
    // The integ-tests release that matches cdkVersion (newer ones need a newer aws-cdk-lib).
    '@aws-cdk/integ-tests-alpha@2.187.0-alpha.0',
    // Drives the system's Chromium (/usr/bin/chromium) in the Gallery preview tests; it downloads no browser.
    'playwright-core@^1.65.1',
  ],

  // The emulator (lib/local, the `ecr-public-local` bin) renders catalog markdown for its Gallery preview. jsii
  // accepts a dependency that is not a jsii module only when it ships inside the package.
  bundledDeps: ['markdown-it@^15.0.3'],

  bin: {
    'ecr-public-local': 'lib/local/cli.js',
  },

  jestOptions: {
    updateSnapshot: UpdateSnapshot.NEVER,
    // Our own junit reporter: a suite that fails to load must count as a failure in the report .ci/run reads.
    junitReporting: false,
    jestConfig: {
      reporters: [
        new javascript.JestReporter('jest-junit', { outputDirectory: 'test-reports', reportTestSuiteErrors: 'true' }),
      ],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testTimeout: 120_000,
      // The suites start emulators and real registries; two workers fit the 2-core machines.
      maxWorkers: 2,
      collectCoverage: false,
    },
  },

  eslintOptions: {
    dirs: ['src', 'lambda', 'local'],
    // Not `local`: it ships as the `ecr-public-local` bin, so it may import only what the package depends on.
    devdirs: ['test', 'lambda', 'projenrc', '.projenrc.ts'],
  },

  gitignore: ['/assets/', '/.emulator-data/', '/test-reports/'],
});

// The integ snapshots' asset folders are synth outputs (handler bundles, staged images): the dry-run comparison reads
// the templates only, and the bundles are tested byte for byte elsewhere, so they are not kept. Added after the
// constructor, whose `!/test/` would otherwise drop every pattern under test/.
project.gitignore.exclude('/test/*.snapshot/asset.*');

// The emulator ships compiled (lib/local); its sources stay out, its README (linked from ours) goes in,
// as does docs/ (the README's pictures).
for (const pattern of ['/local/**/*.ts', '/local/tsconfig.json', '/lambda/', '/examples/', '/.ci/', '/bench/', '/.emulator-data/', '/test-reports/']) {
  project.addPackageIgnore(pattern);
}

// The contract shared by the constructs and the handlers (`src/shared/`) and the handlers themselves run in Lambda:
// no CDK in their bundles, and a handler reaches `src/` only through the shared contract, which reaches nothing of
// `src/` outside itself (so it stays Node built-ins and the AWS SDK).
const CDK_MODULES = ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', 'projen', 'projen/*'];
project.eslint?.addOverride({
  files: ['lambda/**/*.ts', 'src/shared/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [{ group: CDK_MODULES, message: 'Handler code runs in Lambda: no CDK library in its bundle.' }],
    }],
    'import/no-restricted-paths': ['error', {
      zones: [
        { target: './lambda', from: './src', except: ['./shared'], message: 'A handler imports src/ only from src/shared/.' },
        { target: './src/shared', from: './src', except: ['./shared'], message: 'The shared contract imports nothing of src/ outside itself.' },
        { target: './src/shared', from: './lambda', message: 'The shared contract imports no handler code.' },
        { target: './src/shared', from: './local', message: 'The shared contract imports no emulator code.' },
      ],
    }],
  },
});

// jsii silences nothing by default on Node 20; the banner drowns the build log.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');
// The AWS SDK's Node.js-version warning, printed by every suite that creates a client; this is the variable it reads.
project.tasks.addEnvironment('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true');

// ---------------------------------------------------------------------------
// Handlers: every `lambda/<name>/index.ts` (but `lambda/shared`) is bundled into `assets/<name>/index.js`,
// which ships in the npm package so that a consumer's synth needs neither Docker nor esbuild.
const handlerNames = fs.existsSync('lambda')
  ? fs.readdirSync('lambda').filter((n) => n !== 'shared' && fs.existsSync(path.join('lambda', n, 'index.ts'))).sort()
  : [];
const bundle = project.addTask('bundle', { description: 'Bundle the custom-resource handlers into assets/' });
bundle.exec('rm -rf assets');
for (const name of handlerNames) {
  bundle.exec([
    'esbuild', `lambda/${name}/index.ts`,
    // Minified but with names kept: stack traces stay readable without shipping megabytes of source maps.
    '--bundle', '--platform=node', `--target=${HANDLER_TARGET}`, '--format=cjs', '--minify', '--keep-names',
    '--legal-comments=none', `--outfile=assets/${name}/index.js`,
  ].join(' '));
}

/** A tsconfig in `dir` (one level down) that extends the root one; `include` is relative to `dir`. */
function subTsconfig(dir: string, compilerOptions: Record<string, unknown>, include: string[]): void {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: { extends: '../tsconfig.json', compilerOptions: { types: ['node'], ...compilerOptions }, include, exclude: ['node_modules'] },
    marker: false,
  });
}

subTsconfig('lambda', { rootDir: '..', noEmit: true }, ['**/*.ts', '../src/shared/**/*.ts']);

// ---------------------------------------------------------------------------
// The local ECR Public emulator: compiled from `local/` into `lib/local/` and shipped with the `ecr-public-local` bin.
subTsconfig('local', { rootDir: '.', outDir: '../lib/local', inlineSourceMap: false, sourceMap: true }, ['**/*.ts']);
const compileLocal = project.addTask('compile:local', { description: 'Compile the local ECR Public emulator into lib/local' });
compileLocal.exec('tsc -p local/tsconfig.json');
compileLocal.exec('chmod +x lib/local/cli.js');

// The example app, the demo and the benchmarks run through ts-node, which only transpiles: they are type-checked too.
subTsconfig('examples', { rootDir: '..', noEmit: true }, ['**/*.ts', '../bench/**/*.ts']);

// The consumer stage's cdk-nag checks are written against cdk-nag 2 and 3 and an aws-cdk-lib with `Validations`,
// which are not this project's: they are compiled (strictly) only in the consumer projects that install them.
project.tryFindObjectFile('test/tsconfig.json')?.addToArray('exclude', 'consumer/nag');
project.eslint?.addIgnorePattern('test/consumer/nag/');

// ts-jest only transpiles (isolatedModules), so type errors in tests and handlers are caught here.
const typecheck = project.addTask('typecheck', { description: 'Type-check handlers and tests' });
typecheck.exec('tsc -p lambda/tsconfig.json');
typecheck.exec('tsc -p test/tsconfig.json');
typecheck.exec('tsc -p examples/tsconfig.json');

project.preCompileTask.spawn(bundle);
project.preCompileTask.spawn(typecheck);
project.postCompileTask.spawn(compileLocal);

const demo = project.addTask('demo', {
  description: 'Synthesize the example app, deploy it to the emulator, summarize, and pull the image back with skopeo (--port N or DEMO_PORT; default 5151)',
});
demo.spawn(bundle);
demo.exec('ts-node --transpile-only examples/demo.ts', { receiveArgs: true });

const bench = project.addTask('bench', {
  description: 'Measure publishing (against skopeo), memory, re-publish and synth; writes BENCHMARKS.md',
});
bench.spawn(bundle);
bench.spawn(compileLocal);
bench.exec('ts-node --transpile-only bench/run.ts');

// Integration tests: synthesized and compared with their committed snapshots, never deployed (no account here).
const integ = project.addTask('integ', {
  description: 'Compare the integration tests (test/integ.*.ts) with their snapshots',
  exec: 'integ-runner --language typescript --dry-run --directory test',
});
project.addTask('integ:update', {
  description: 'Re-record the integration test snapshots',
  exec: 'integ-runner --language typescript --dry-run --update-on-failed --directory test',
});
project.testTask.spawn(integ);

// The library as users install it: the packed tarball in fresh projects with the newest and the oldest aws-cdk-lib of
// the peer range (README blocks, the example app and a consumer file compiled strictly and synthesized). Run by .ci/run
// after the build, which packs the tarball.
project.addTask('consumer', {
  description: 'Install the packed library into fresh projects (newest and oldest aws-cdk-lib of the peer range) and synthesize the README blocks and the example app',
  exec: 'ts-node --transpile-only test/consumer/run.ts',
  receiveArgs: true,
});

// ---------------------------------------------------------------------------
// Language bindings. Packaging them (package:python, package:java, ... in package-all) needs each language's build
// tools and registries, which a release machine has and CI does not; CI generates every binding's code instead, so an
// API change that breaks one (a name a language reserves, a member two languages cannot both have) fails the build,
// and byte-compiles the generated Python with the system's Python (Debian's /usr/bin/python3 on CI).
const BINDINGS_DIR = 'dist/bindings';
const bindings = project.addTask('bindings', {
  description: `Generate the Python, Java, .NET and Go bindings' code into ${BINDINGS_DIR}; byte-compile the Python`,
});
bindings.exec(`rm -rf ${BINDINGS_DIR}`);
bindings.exec(`jsii-pacmak --code-only --target python --target java --target dotnet --target go --outdir ${BINDINGS_DIR} --force`);
bindings.exec(`/usr/bin/python3 -m compileall -q ${BINDINGS_DIR}/python`);
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);
project.packageTask.spawn(bindings);

project.addTask('emulator', {
  description: 'Start the local ECR Public emulator on 127.0.0.1 (pass --port and --data)',
  exec: 'node lib/local/cli.js serve',
  receiveArgs: true,
});

project.synth();
