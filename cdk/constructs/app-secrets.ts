import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The two GitHub App secrets. The stack creates them with a random placeholder (never a value in the
 * template); the operator stores the real values once with `aws secretsmanager put-secret-value`
 * (docs/deploy.md). Functions receive only the ARNs and read the values once per cold start.
 */
export class AppSecrets extends Construct {
  readonly privateKey: secretsmanager.Secret;
  readonly webhookSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const placeholder = { excludePunctuation: true, passwordLength: 32 };
    this.privateKey = new secretsmanager.Secret(this, 'AppPrivateKey', {
      description: 'jit-runners: GitHub App private key (PEM). Store it with put-secret-value after deploy.',
      generateSecretString: placeholder,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description:
        'jit-runners: GitHub App webhook secret (a comma list allows rotation). Store it with put-secret-value after deploy.',
      generateSecretString: placeholder,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
