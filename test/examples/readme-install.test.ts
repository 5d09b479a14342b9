/**
 * The README's install section, as a new user follows it: while the package is unreleased (version 0.0.0), it must say
 * how to build and install the packed tarball (the projen tasks it names exist, and the tarball it installs is the one
 * `package:js` writes), not offer an `npm install` of a package the registry does not have.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

/** The shell commands of the Install section's first sh block, one per line, comments removed. */
function installCommands(): string[] {
  const section = /^## Install\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const block = /^```sh\n([\s\S]*?)^```/m.exec(section)?.[1] ?? '';
  return block.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

test('the install section says how to install the package before its first release', () => {
  expect(pkg.version).toBe('0.0.0');
  const commands = installCommands();
  expect(commands).not.toContain(`npm install ${pkg.name}`);
  // Every projen task it runs exists.
  const projenTasks = commands.flatMap((c) => [...c.matchAll(/npx projen ([\w:-]+)/g)].map((m) => m[1]));
  expect(projenTasks.length).toBeGreaterThan(0);
  for (const task of projenTasks) expect(Object.keys(tasks)).toContain(task);
  expect(projenTasks).toContain('package:js');
  // It installs the tarball package:js writes: dist/js/<name>@<version>.jsii.tgz.
  const tarball = `dist/js/${pkg.name}@${pkg.version}.jsii.tgz`;
  expect(commands.some((c) => /^npm install \S+$/.test(c) && c.endsWith(`/${tarball}`))).toBe(true);
});
