export * from './lifecycle-rule';
