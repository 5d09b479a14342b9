/**
 * Pulls from the stand-ins of private ECR repositories (`service/stand-in-repositories.ts`) through the registry API,
 * as a private ECR registry answers them: every request needs `Basic base64(AWS:<password>)` with a password
 * GetAuthorizationToken issued (private ECR has no anonymous pulls), and only pulls are served (the local deployer
 * writes the stand-ins itself). Routed from `routes.ts` before its table, for single-segment names the stand-ins hold.
 */
import { decodeSegment } from '../http';
import { checkCredentials } from './credentials';
import { RegistryError } from './errors';
import { sendBlob, sendManifest, sendRegistryJson } from './responses';
import type { RegistryCall } from './routes';
import { hasStandIn, standInBlob, standInManifest, standInTags } from '../service/stand-in-repositories';

const PATH = /^\/v2\/([^/]+)\/(manifests|blobs|tags)\/([^/]+)$/;

/** Whether `pathname` names a stand-in repository `root` holds. */
export function isStandInPath(root: string, pathname: string): boolean {
  const name = PATH.exec(pathname)?.[1];
  return name !== undefined && hasStandIn(root, name);
}

/** A pull from a stand-in repository: a manifest, a blob or the tag list. */
export function serveStandIn({ ctx, req, res, url }: RegistryCall): void {
  const [, name, kind, segment] = PATH.exec(url.pathname)!;
  const credentials = checkCredentials(ctx, req.headers.authorization);
  if (typeof credentials !== 'object') {
    throw new RegistryError('UNAUTHORIZED', credentials === 'missing'
      ? `authentication required: the private repository ${name} needs the password of ECR's GetAuthorizationToken (user AWS)`
      : 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired',
    { 'WWW-Authenticate': `Basic realm="http://${ctx.host}/",service="ecr.amazonaws.com"` });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on ${url.pathname}: the local deployer writes this repository`);
  }
  const reference = decodeSegment(segment);
  if (reference === undefined) throw new RegistryError('NAME_INVALID', `malformed percent-encoding in '${segment}'`);
  const root = ctx.store.root;
  if (kind === 'tags') {
    if (reference !== 'list') throw new RegistryError('NAME_INVALID', `not a registry API path: ${url.pathname}`);
    sendRegistryJson(res, 200, { name, tags: standInTags(root, name) });
  } else if (kind === 'manifests') {
    const manifest = standInManifest(root, name, reference);
    if (!manifest) throw new RegistryError('MANIFEST_UNKNOWN', `manifest unknown: ${reference}`);
    sendManifest(req, res, manifest.bytes, manifest.mediaType, manifest.digest);
  } else {
    const blob = standInBlob(root, name, reference);
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', `blob unknown to registry: ${reference}`);
    sendBlob(req, res, blob.file, blob.size, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': reference });
  }
}
