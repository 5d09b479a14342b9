/**
 * The emulator's Gallery preview routes: `/gallery/` (the registry) and `/gallery/<alias>/<repository>` (a repository,
 * whose name may hold `/`). Pages are read-only views of the store, served with a Content-Security-Policy that lets
 * them load their own style sheet and the emulator's logos, and nothing else: no script at all.
 */
import { IncomingMessage, ServerResponse } from 'http';
import { Html } from './html';
import { errorPage, registryPage, repositoryPage } from './pages';
import { GALLERY_CSS_SOURCE } from './styles';
import { GALLERY_PATH, registryView, repositoryView } from './view';
import { Context } from '../service/context';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${GALLERY_CSS_SOURCE}`,
  // The emulator's logos, and the inline page icon.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Whether the request is the preview's. */
export function isGalleryPath(pathname: string): boolean {
  return pathname === GALLERY_PATH || pathname.startsWith(`${GALLERY_PATH}/`);
}

export function serveGallery(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendPage(req, res, 405, errorPage('Method not allowed', 'The Gallery preview only answers GET and HEAD.'), { Allow: 'GET, HEAD' });
  }
  if (url.pathname === GALLERY_PATH) return redirect(res, `${GALLERY_PATH}/`);
  let rest: string;
  try {
    rest = decodeURIComponent(url.pathname.slice(GALLERY_PATH.length + 1));
  } catch {
    return sendPage(req, res, 400, errorPage('Bad request', 'The path is not valid percent-encoding.'));
  }
  if (rest === '') return sendPage(req, res, 200, registryPage(registryView(ctx)));

  const slash = rest.indexOf('/');
  const alias = slash < 0 ? rest : rest.slice(0, slash);
  const name = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  const registry = registryView(ctx);
  if (alias !== registry.alias) {
    return sendPage(req, res, 404, errorPage('Registry not found', `The emulator's registry has no alias '${alias}'.`));
  }
  if (name === '') return sendPage(req, res, 200, registryPage(registry));
  const repo = repositoryView(ctx, alias, name);
  if (!repo) return sendPage(req, res, 404, errorPage('Repository not found', `The registry has no repository '${name}'.`));
  return sendPage(req, res, 200, repositoryPage(repo));
}

function sendPage(req: IncomingMessage, res: ServerResponse, status: number, page: Html, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(page.text, 'utf8');
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(301, { 'Location': location, 'Content-Length': '0' });
  res.end();
}
