/** The sweeper's configuration (handler side): read from its S3 asset, bounded, and checked before anything is deleted. */
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigLocation, RepositoryLifecycle, SweeperConfig } from '../../src/shared/lifecycle-contract';
import { readObject } from '../shared/s3-object';

/** 480 repositories of 205-character names with ten rules each fit many times over. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Reads and checks the configuration at `location`. */
export async function readSweeperConfig(location: ConfigLocation): Promise<SweeperConfig> {
  if (!location.ConfigBucket || !location.ConfigKey) {
    throw new Error(`ConfigBucket and ConfigKey are both required (got '${location.ConfigBucket ?? ''}', '${location.ConfigKey ?? ''}')`);
  }
  const s3 = new S3Client({});
  let bytes: Uint8Array;
  try {
    bytes = await readObject(s3, { bucket: location.ConfigBucket, key: location.ConfigKey }, MAX_CONFIG_BYTES, 'a sweeper configuration may have');
  } finally {
    s3.destroy();
  }
  const where = `s3://${location.ConfigBucket}/${location.ConfigKey}`;
  let config: SweeperConfig;
  try {
    config = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new Error(`The sweeper configuration ${where} is not JSON: ${(err as Error).message}`);
  }
  if (config?.version !== 1 || !Array.isArray(config.repositories) || !config.repositories.every(isRepositoryLifecycle)) {
    throw new Error(`The sweeper configuration ${where} is not a version 1 configuration of this library`);
  }
  return config;
}

function isRepositoryLifecycle(r: RepositoryLifecycle): boolean {
  return typeof r?.repositoryName === 'string' && Array.isArray(r.rules) && Array.isArray(r.protectedTags)
    && (r.mode === 'expire' || r.mode === 'dry-run') && typeof r.schedule === 'string'
    && r.rules.every((rule) => Number.isInteger(rule?.rulePriority) && Number.isInteger(rule.countNumber) && rule.countNumber >= 0
      && ['tagged', 'untagged', 'any'].includes(rule.tagStatus) && ['imageCountMoreThan', 'sinceImagePushed'].includes(rule.countType));
}
