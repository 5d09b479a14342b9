/** GetRepositoryCatalogData and PutRepositoryCatalogData, and the catalog rules CreateRepository shares. */
import { randomUUID } from 'crypto';
import { Context, findRepository, Operation } from './context';
import { ecrError, invalidParameter } from './errors';
import { CatalogRecord, RepositoryRecord } from '../store/model';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]);

/** Content type of a logo by its signature. The model only bounds the size; the Gallery shows PNG and JPEG. */
export function logoContentType(fileName: string): string {
  return fileName.endsWith('.png') ? 'image/png' : 'image/jpeg';
}

/**
 * Replaces the repository's catalog data with `input` (a field left out is cleared, the logo included). The service
 * does not document merge or replace; replacing is the reading under which a client that always sends the full
 * desired state is correct, and a client that relies on merging is caught.
 */
export function setCatalogData(ctx: Context, repo: RepositoryRecord, input: any): void {
  const record: CatalogRecord = {};
  // An empty value clears its field, like a missing one.
  for (const field of ['description', 'aboutText', 'usageText'] as const) {
    if (input[field] !== undefined && input[field] !== '') record[field] = input[field];
  }
  if (input.architectures !== undefined && input.architectures.length > 0) record.architectures = [...input.architectures];
  if (input.operatingSystems !== undefined && input.operatingSystems.length > 0) record.operatingSystems = [...input.operatingSystems];
  const logo: Buffer | undefined = input.logoImageBlob;
  if (logo && logo.length > 0) {
    const ext = logo.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE) ? 'png'
      : logo.subarray(0, JPEG_SIGNATURE.length).equals(JPEG_SIGNATURE) ? 'jpg' : undefined;
    if (!ext) throw invalidParameter('catalogData.logoImageBlob', 'must be a PNG or JPEG image');
    record.logo = `${randomUUID()}.${ext}`;
    ctx.store.writeLogo(record.logo, logo);
  }
  // The previous logo's file goes once the change is stored, with its last reference.
  repo.catalogData = record;
}

export function catalogDataOutput(ctx: Context, record: CatalogRecord | undefined): Record<string, unknown> {
  if (!record) return {};
  return {
    description: record.description,
    architectures: record.architectures,
    operatingSystems: record.operatingSystems,
    logoUrl: record.logo ? `${ctx.baseUrl}/logo/${record.logo}` : undefined,
    aboutText: record.aboutText,
    usageText: record.usageText,
    marketplaceCertified: false,
  };
}

export const getRepositoryCatalogData: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  if (!repo.catalogData) {
    throw ecrError('RepositoryCatalogDataNotFoundException', repo.name, ctx.accountId);
  }
  return { catalogData: catalogDataOutput(ctx, repo.catalogData) };
};

export const putRepositoryCatalogData: Operation = (ctx, input) => {
  const repo = findRepository(ctx, input);
  setCatalogData(ctx, repo, input.catalogData);
  ctx.store.commit();
  return { catalogData: catalogDataOutput(ctx, repo.catalogData) };
};
