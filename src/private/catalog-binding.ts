/**
 * The catalog properties of a resource (synth side), shared by `PublicRepository` and `PublicRepositoryCatalogData`:
 * checked against the API's limits, with the texts and the logo staged as S3 assets so that the template carries their
 * locations, never their content.
 */
import { aws_iam as iam, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { stageContentAsset } from './file-asset';
import { allowAssetObjects } from './handler-function';
import { validateCatalogList, validateLogoFile, validateMaxLength } from './validation';
import type { RepositoryCatalogOptions } from '../repository-catalog-data';
import { CatalogFields } from '../shared/handler-contract';

/** What a resource carries for its catalog, and what its handler needs to read the assets. */
export interface CatalogBinding {
  readonly properties: CatalogFields;
  /** `s3:GetObject` on the asset bucket's objects, when there is an asset. */
  readonly roleStatements: iam.PolicyStatement[];
}

/** Checks `options` and binds its assets into `scope`'s stack. Errors name `scope`'s path and the property. */
export function bindCatalog(scope: Construct, options: RepositoryCatalogOptions): CatalogBinding {
  const architectures = options.architectures?.map((a) => a.value);
  const operatingSystems = options.operatingSystems?.map((o) => o.value);
  const aboutText = options.aboutText?._textFor(scope, 'aboutText');
  const usageText = options.usageText?._textFor(scope, 'usageText');
  validateMaxLength(scope, 'description', options.description, 1024);
  validateMaxLength(scope, 'aboutText', aboutText, 25_600);
  validateMaxLength(scope, 'usageText', usageText, 25_600);
  validateCatalogList(scope, 'architectures', architectures);
  validateCatalogList(scope, 'operatingSystems', operatingSystems);
  if (options.logo) validateLogoFile(scope, 'logo', options.logo.filePath);

  const objectArns = new Set<string>();
  const text = (value: string | undefined, field: 'AboutText' | 'UsageText'): CatalogFields => {
    if (value === undefined) return {};
    // Deploy-time values cannot be in an asset, which is made at synth: such a text is the one thing sent inline.
    if (Token.isUnresolved(value)) return { [field]: value };
    const asset = stageContentAsset(scope, Buffer.from(value, 'utf8'), '.md');
    objectArns.add(asset.objectsArn);
    return { [`${field}Bucket`]: asset.bucketName, [`${field}Key`]: asset.objectKey };
  };
  const logo = options.logo?.bind(scope);
  if (logo) objectArns.add(logo.assetObjectsArn);

  const properties: CatalogFields = {
    Description: options.description,
    Architectures: architectures,
    OperatingSystems: operatingSystems,
    ...text(aboutText, 'AboutText'),
    ...text(usageText, 'UsageText'),
    LogoBucket: logo?.bucketName,
    LogoKey: logo?.objectKey,
  };
  return { properties, roleStatements: [...objectArns].map(allowAssetObjects) };
}
