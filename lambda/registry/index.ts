/** Handler of `Custom::EcrPublicRegistry`: sets the registry's display name and looks up its attributes. */
import {
  DescribeRegistriesCommand,
  ECRPUBLICClient,
  PutRegistryCatalogDataCommand,
  Registry,
} from '@aws-sdk/client-ecr-public';
import { RegistryAttributes, RegistryProperties } from '../../src/shared/handler-contract';
import { CustomResourceEvent, customResourceHandler, DeleteEvent, HandlerResult } from '../shared/cfn-response';
import { withEcrPublicClient } from '../shared/ecr-public-client';

/** The Lambda entry point. */
export const handler = customResourceHandler<RegistryProperties>((event) => withEcrPublicClient(async (ecr) => {
  switch (event.RequestType) {
    case 'Create':
    case 'Update':
      return onCreateOrUpdate(ecr, event);
    case 'Delete':
      return onDelete(event);
  }
}));

async function onCreateOrUpdate(ecr: ECRPUBLICClient, event: CustomResourceEvent<RegistryProperties>): Promise<HandlerResult> {
  const displayName = event.ResourceProperties.DisplayName;
  // Left out, the resource is a lookup: the display name is account-wide and may be managed elsewhere.
  if (displayName !== undefined) await ecr.send(new PutRegistryCatalogDataCommand({ displayName }));

  const out = await ecr.send(new DescribeRegistriesCommand({}));
  const data = attributes(out.registries?.[0], event.StackId);
  // The registry id is the account id, known even before the registry exists: the physical id never changes.
  return { physicalResourceId: data.RegistryId, data: { ...data } };
}

/** The display name belongs to the account, not to a stack: removing the resource leaves it in place. */
function onDelete(event: DeleteEvent<RegistryProperties>): HandlerResult {
  return { physicalResourceId: event.PhysicalResourceId };
}

/**
 * The registry's attributes. Until the account's first public repository exists there is no registry and no alias;
 * the id and ARN it will have are still known (the registry id is the account id), the alias and URI are empty.
 */
function attributes(registry: Registry | undefined, stackId: string): RegistryAttributes {
  if (registry) {
    const alias = registry.aliases?.find((a) => a.primaryRegistryAlias) ?? registry.aliases?.[0];
    return {
      RegistryId: registry.registryId!,
      RegistryArn: registry.registryArn!,
      RegistryAlias: alias?.name ?? '',
      RegistryUri: registry.registryUri!,
    };
  }
  const { partition, account } = parseStackId(stackId);
  return {
    RegistryId: account,
    RegistryArn: `arn:${partition}:ecr-public::${account}:registry/${account}`,
    RegistryAlias: '',
    RegistryUri: '',
  };
}

/** Partition and account of `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`. */
function parseStackId(stackId: string): { partition: string; account: string } {
  const match = /^arn:([^:]+):cloudformation:[^:]*:([0-9]{12}):stack\//.exec(stackId);
  if (!match) throw new Error(`Cannot read the account id from the stack id '${stackId}'`);
  return { partition: match[1], account: match[2] };
}
