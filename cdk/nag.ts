import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  type App,
  type IPolicyValidationContext,
  type IPolicyValidationPlugin,
  type PolicyValidationPluginReport,
  Validations,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Deploy-time validators of the repository's own app and of the tests; both are devDependencies, so
 * only cdk/app.ts and test/ import this file (never cdk/index.ts, the package entry, nor the functions).
 */

/** cdk-nag 3: AwsSolutions checks on the whole app; an unacknowledged finding fails the synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/**
 * The AWS Control Tower proactive controls as CloudFormation Guard rules (@cdklabs/cdk-validator-cfnguard,
 * which runs its bundled cfn-guard binary on the synthesized templates, offline). Every rule is on; the
 * few findings the design accepts are acknowledged on the exact resource with the reason
 * (`cdk-validator-cfnguard::<rule>`, docs/decisions.md "Second validator"), so a new resource that
 * breaks a rule still fails the synth.
 */
export function addGuardChecks(app: App): void {
  Validations.of(app).addPlugins(new StrictGuard(new CfnGuardValidator()));
}

/**
 * The Guard validator with a severity on every violation. Why: it reports violations without one, and
 * when any finding of the app is acknowledged CDK recounts a report's success from the severities of
 * what is left, so without this wrapper one acknowledgement would let every other Guard finding pass
 * (seen with aws-cdk-lib 2.276 and the validator 0.0.62: findings printed, synth succeeded).
 */
class StrictGuard implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor(private readonly inner: CfnGuardValidator) {
    // The name stays the validator's: acknowledgements are namespaced by it (`cdk-validator-cfnguard::…`).
    this.name = inner.name;
    if (inner.version !== undefined) this.version = inner.version;
    if (inner.ruleIds !== undefined) this.ruleIds = inner.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.inner.validate(context);
    return {
      ...report,
      violations: report.violations.map((v) => ({ ...v, severity: v.severity ?? 'error' })),
    };
  }
}

/** Both validators: what `npx cdk synth|deploy` runs. */
export function addPolicyChecks(app: App): void {
  addNagChecks(app);
  addGuardChecks(app);
}
