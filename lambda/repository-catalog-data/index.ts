/** Handler of `Custom::EcrPublicRepositoryCatalogData`: keeps a repository's catalog data equal to the template's. */
import {
  ECRPUBLICClient,
  PutRepositoryCatalogDataCommand,
  RepositoryCatalogDataInput,
} from '@aws-sdk/client-ecr-public';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CatalogDataProperties } from '../../src/private/handler-contract';
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

async function desiredCatalog(props: CatalogDataProperties): Promise<RepositoryCatalogDataInput> {
  // Every field is sent, empty when not asked: whether the service replaces the catalog or merges into it (undocumented),
  // a field removed from the app is then cleared.
  return {
    description: props.Description ?? '',
    architectures: props.Architectures ?? [],
    operatingSystems: props.OperatingSystems ?? [],
    aboutText: props.AboutText ?? '',
    usageText: props.UsageText ?? '',
    logoImageBlob: (await readLogo(props)) ?? new Uint8Array(0),
  };
}

/** The logo's bytes from the asset bucket, or undefined when the catalog has no logo. */
async function readLogo(props: CatalogDataProperties): Promise<Uint8Array | undefined> {
  if (props.LogoBucket === undefined && props.LogoKey === undefined) return undefined;
  if (!props.LogoBucket || !props.LogoKey) {
    throw new Error(`LogoBucket and LogoKey go together (got LogoBucket '${props.LogoBucket ?? ''}', LogoKey '${props.LogoKey ?? ''}')`);
  }
  // The asset bucket is in the stack's Region, which the SDK takes from the Lambda environment.
  const s3 = new S3Client({});
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: props.LogoBucket, Key: props.LogoKey }));
    if (!out.Body) throw new Error(`s3://${props.LogoBucket}/${props.LogoKey} has no body`);
    const bytes = await out.Body.transformToByteArray();
    // An empty blob would clear the logo: a logo that was asked for and is empty is an error, not a removal.
    if (bytes.length === 0) throw new Error(`The logo s3://${props.LogoBucket}/${props.LogoKey} is empty`);
    return bytes;
  } finally {
    s3.destroy();
  }
}

/** One catalog per repository, so the repository's name identifies it. */
function physicalId(props: CatalogDataProperties): string {
  return `${props.RepositoryName}/catalog-data`;
}
