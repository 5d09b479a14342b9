/**
 * The OCI distribution pull API (`/v2/...`), anonymous, so that skopeo and other registry clients can pull what was
 * pushed. Repository names in the path are `<alias>/<repositoryName>`, as on public.ecr.aws. Pushes are served by
 * `registry-push.ts`; the `/v2/` ping here carries its Basic challenge.
 */
import * as fs from 'fs';
import { IncomingMessage, ServerResponse } from 'http';
import { decodeSegment, sendFile, sendJson } from '../http';
import { has, RepositoryRecord } from '../store/model';
import { Context } from '../api/operations/context';
import { authChallenge, checkCredentials } from './pushes';

const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const TAGS_ROUTE = /^\/v2\/(.+)\/tags\/list$/;

export class RegistryEndpoint {
  constructor(private readonly ctx: Context) {}

  public handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.error(res, 405, 'UNSUPPORTED', `${req.method} is not a pull`);
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      // 200 for anonymous pulls. The challenge tells clients that read it from the ping (containers/image: skopeo,
      // podman, buildah) to send credentials, which pushes need; credentials that are sent must be good.
      const challenge = { 'WWW-Authenticate': authChallenge(this.ctx) };
      if (checkCredentials(this.ctx, req.headers.authorization) === 'invalid') {
        return this.error(res, 401, 'UNAUTHORIZED', 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired', challenge);
      }
      return sendJson(res, 200, {}, { ...API_VERSION_HEADER, ...challenge });
    }
    const tags = TAGS_ROUTE.exec(url.pathname);
    if (tags) {
      const repo = this.repository(tags[1]);
      if (!repo) return this.error(res, 404, 'NAME_UNKNOWN', `repository name not known to registry: ${tags[1]}`);
      return this.listTags(res, url, tags[1], repo);
    }
    const route = ROUTE.exec(url.pathname);
    if (!route) return this.error(res, 404, 'NAME_INVALID', `not a registry API path: ${url.pathname}`);
    const [, name, kind, reference] = route;
    const repo = this.repository(name);
    if (!repo) return this.error(res, 404, 'NAME_UNKNOWN', `repository name not known to registry: ${name}`);
    const decoded = decodeSegment(reference);
    if (decoded === undefined) {
      return this.error(res, 400, kind === 'manifests' ? 'MANIFEST_INVALID' : 'DIGEST_INVALID', `malformed percent-encoding in '${reference}'`);
    }
    if (kind === 'manifests') return this.manifest(req, res, repo, decoded);
    return this.blob(req, res, repo, decoded);
  }

  private repository(name: string): RepositoryRecord | undefined {
    const alias = this.ctx.store.state.registry.alias;
    if (!alias || !name.startsWith(`${alias}/`)) return undefined;
    const { repositories } = this.ctx.store.state;
    const repositoryName = name.slice(alias.length + 1);
    return has(repositories, repositoryName) ? repositories[repositoryName] : undefined;
  }

  private manifest(req: IncomingMessage, res: ServerResponse, repo: RepositoryRecord, reference: string): void {
    const digest = reference.includes(':') ? reference : repo.imageTags[reference]?.digest;
    const image = digest ? repo.images[digest] : undefined;
    if (!image) return this.error(res, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${reference}`);
    const bytes = this.ctx.store.readManifest(image.digest);
    res.writeHead(200, {
      ...API_VERSION_HEADER,
      'Content-Type': image.manifestMediaType,
      'Content-Length': String(bytes.length),
      'Docker-Content-Digest': image.digest,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  private blob(req: IncomingMessage, res: ServerResponse, repo: RepositoryRecord, digest: string): void {
    const blob = repo.blobs[digest];
    const file = this.ctx.store.blobPath(digest);
    if (!blob || !fs.existsSync(file)) return this.error(res, 404, 'BLOB_UNKNOWN', `blob unknown to registry: ${digest}`);
    sendFile(req, res, file, blob.size, {
      ...API_VERSION_HEADER,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
    });
  }

  private listTags(res: ServerResponse, url: URL, name: string, repo: RepositoryRecord): void {
    let tags = Object.keys(repo.imageTags).sort();
    const last = url.searchParams.get('last');
    if (last !== null) tags = tags.filter((t) => t > last);
    const n = url.searchParams.get('n');
    if (n !== null && Number(n) >= 0) tags = tags.slice(0, Number(n));
    sendJson(res, 200, { name, tags }, API_VERSION_HEADER);
  }

  private error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    sendJson(res, status, { errors: [{ code, message, detail: null }] }, { ...API_VERSION_HEADER, ...headers });
  }
}
