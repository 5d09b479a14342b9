/**
 * The registry API's answers: the one place that writes its API-version header and serialises its errors.
 */
import { IncomingMessage, ServerResponse } from 'http';
import { sendFile, sendJson } from '../http';
import { RegistryError } from './errors';

/** Every answer of the registry API carries it: clients read it to know they speak to a v2 registry. */
const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** An answer without a body. A 204 carries no Content-Length (RFC 9110); the others say their body is empty. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...API_VERSION_HEADER, ...headers, ...(status === 204 ? {} : { 'Content-Length': '0' }) });
  res.end();
}

/** A JSON answer (the ping, a tag list, an error). */
export function sendRegistryJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...API_VERSION_HEADER, ...headers });
}

/** A manifest's exact bytes (200) with its media type and digest; HEAD sends the headers only. */
export function sendManifest(req: IncomingMessage, res: ServerResponse, bytes: Buffer, mediaType: string, digest: string): void {
  res.writeHead(200, {
    ...API_VERSION_HEADER,
    'Content-Type': mediaType,
    'Content-Length': String(bytes.length),
    'Docker-Content-Digest': digest,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** A blob, or the range of it the request asks for. */
export function sendBlob(req: IncomingMessage, res: ServerResponse, file: string, size: number, headers: Record<string, string>): void {
  sendFile(req, res, file, size, { ...API_VERSION_HEADER, ...headers });
}

/** `{"errors": [{code, message, detail}, ...]}`, one entry per detail, with the error's status and headers. */
export function sendRegistryError(res: ServerResponse, error: RegistryError): void {
  sendRegistryJson(res, error.status, {
    errors: error.details.map((detail) => ({ code: error.code, message: error.message, detail })),
  }, error.headers);
}
