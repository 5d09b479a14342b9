/**
 * Names of files inside an image archive. Every name read from an archive (tar entry names, link targets, paths in
 * `manifest.json`) goes through here before it is used, so that no later step can be led outside the archive or the
 * layout directory by `..`, an absolute path or a Windows separator.
 */

/**
 * The canonical form of an entry name: `/`-separated, without `.` or empty components or a trailing `/`
 * (`./blobs//sha256/x/` → `blobs/sha256/x`); `''` for the archive root. Throws (the message says why, without a
 * location: callers add it) for absolute names, `..` components and backslashes.
 */
export function canonicalName(raw: string): string {
  if (raw.startsWith('/')) throw new Error(`absolute name ${JSON.stringify(raw)}`);
  // A backslash is an ordinary character to tar, but a separator to Windows path functions: refuse it outright.
  if (raw.includes('\\')) throw new Error(`name with a backslash ${JSON.stringify(raw)}`);
  const parts = raw.split('/').filter(p => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`name with a '..' component ${JSON.stringify(raw)}`);
  return parts.join('/');
}

/**
 * Where a symbolic link in entry `linkName` (canonical) with target `target` points, as a canonical name. `..` may climb
 * within the archive (`abc/layer.tar -> ../def/layer.tar` is how docker save shares layers) but not above its root.
 */
export function symlinkTarget(linkName: string, target: string): string {
  if (target.startsWith('/')) throw new Error(`symlink ${linkName} has an absolute target ${JSON.stringify(target)}`);
  if (target.includes('\\')) throw new Error(`symlink ${linkName} has a target with a backslash ${JSON.stringify(target)}`);
  const parts = linkName.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw new Error(`symlink ${linkName} -> ${target} leads outside the archive`);
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  if (parts.length === 0) throw new Error(`symlink ${linkName} -> ${target} points at the archive root`);
  return parts.join('/');
}
