/**
 * The lifecycle of one `PublicRepository` (synth side): its checked rules, and its place in the stack's sweep, taken
 * when the first rule arrives (a repository without rules costs nothing).
 */
import { Duration, Token, aws_events as events, aws_lambda as lambda } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { LifecycleMode, LifecycleOptions, LifecycleRule } from './lifecycle-rule';
import { checkLifecycleRule, lifecycleRuleSpecs } from './rule-validation';
import { StackSweeper } from './stack-sweeper';
import { invalid } from '../private/validation';

export class RepositoryLifecycleBinding {
  private readonly rules: LifecycleRule[] = [];
  private joined = false;

  constructor(
    private readonly repository: IConstruct,
    private readonly resource: IConstruct,
    private readonly repositoryName: string,
    private readonly options: LifecycleOptions,
    /** The sweeper's runtime the repository pinned (`handlerRuntime`, checked). */
    private readonly runtime?: lambda.Runtime,
  ) {
    options.lifecycleRules?.forEach((rule, i) => this.addRule(`lifecycleRules[${i}]`, rule));
  }

  /** Checks `rule` (named `prop` in errors) and adds it. */
  public addRule(prop: string, rule: LifecycleRule): void {
    this.rules.push(checkLifecycleRule(this.repository, prop, rule, this.rules));
    if (this.joined) return;
    if (Token.isUnresolved(this.repositoryName)) {
      invalid(this.repository, 'repositoryName', 'must be known at synth when the repository has lifecycle rules (the sweeper reads them from an asset)');
    }
    this.joined = true;
    StackSweeper.of(this.repository).add({
      repository: this.repository,
      resource: this.resource,
      repositoryName: this.repositoryName,
      rules: () => lifecycleRuleSpecs(this.repository, 'lifecycleRules', this.rules),
      mode: this.options.lifecycleMode ?? LifecycleMode.EXPIRE,
      schedule: this.options.lifecycleSchedule ?? events.Schedule.rate(Duration.days(1)),
      runtime: this.runtime,
    });
  }
}
