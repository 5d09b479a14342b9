export * from './catalog-values';
export * from './catalog-text';
export * from './logo';
export * from './public-repository';
export * from './repository-catalog-data';
export * from './repository-policy';
export * from './public-registry';
