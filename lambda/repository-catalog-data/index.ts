/** Handler of `Custom::EcrPublicRepositoryCatalogData`: keeps a repository's catalog data equal to the template's. */
import { ECRPUBLICClient, PutRepositoryCatalogDataCommand } from '@aws-sdk/client-ecr-public';
import { CatalogDataProperties } from '../../src/shared/handler-contract';
import { desiredCatalog } from '../shared/catalog-data';
import { customResourceHandler, DeleteEvent, HandlerResult } from '../shared/cfn-response';
import { isErrorNamed, withEcrPublicClient } from '../shared/ecr-public-client';

/** The Lambda entry point. */
export const handler = customResourceHandler<CatalogDataProperties>((event) => withEcrPublicClient(async (ecr) => {
  switch (event.RequestType) {
    case 'Create':
    case 'Update':
      return onCreateOrUpdate(ecr, event.ResourceProperties);
    case 'Delete':
      return onDelete(ecr, event);
  }
}));

/**
 * Puts the full desired catalog. The API may replace rather than merge, so every field is sent, the logo included:
 * anything left out could be cleared.
 */
async function onCreateOrUpdate(ecr: ECRPUBLICClient, props: CatalogDataProperties): Promise<HandlerResult> {
  const out = await ecr.send(new PutRepositoryCatalogDataCommand({
    repositoryName: props.RepositoryName,
    catalogData: await desiredCatalog(props),
  }));
  const logoUrl = out.catalogData?.logoUrl;
  // Always present, so that Fn::GetAtt LogoUrl resolves (to an empty string) on a catalog without a logo.
  return { physicalResourceId: physicalId(props), data: { LogoUrl: logoUrl ?? '' } };
}

async function onDelete(ecr: ECRPUBLICClient, event: DeleteEvent<CatalogDataProperties>): Promise<HandlerResult> {
  const props = event.ResourceProperties;
  // A retained repository keeps its page in the gallery.
  if (props.RetainOnDelete === 'true') return { physicalResourceId: event.PhysicalResourceId };
  try {
    // There is no DeleteRepositoryCatalogData: an empty catalog is the closest to "none".
    await ecr.send(new PutRepositoryCatalogDataCommand({ repositoryName: props.RepositoryName, catalogData: {} }));
  } catch (err) {
    // The repository went first (its deletion took the catalog with it).
    if (!isErrorNamed(err, 'RepositoryNotFoundException')) throw err;
  }
  return { physicalResourceId: event.PhysicalResourceId };
}

/** One catalog per repository, so the repository's name identifies it. */
function physicalId(props: CatalogDataProperties): string {
  return `${props.RepositoryName}/catalog-data`;
}
