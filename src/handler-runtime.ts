import { aws_lambda as lambda } from 'aws-cdk-lib';

/** The runtime of the custom-resource handlers a construct uses. */
export interface HandlerRuntimeOptions {
  /**
   * The Lambda runtime of the custom-resource handler this construct uses: a Node.js runtime from `nodejs22.x` on
   * (the handlers are bundled for Node.js 22 and need nothing newer). Handlers on different runtimes are different
   * functions, so pin the same runtime on every construct of a stack to keep one function per handler kind.
   * @default - the newest Node.js runtime the installed aws-cdk-lib offers, from `nodejs22.x` on (what cdk-nag's
   * AwsSolutions-L1 asks for)
   */
  readonly handlerRuntime?: lambda.Runtime;
}
