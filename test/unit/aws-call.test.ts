import { describe, expect, it } from 'vitest';
import { awsError, deniedAction } from '../../src/adapters/aws-call.ts';

const sdkError = (name: string, message: string, status: number, iamAction?: string) => {
  const error = Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
  if (iamAction) Object.defineProperty(error, '$iamAction', { value: iamAction, enumerable: false });
  return error;
};

describe('deniedAction', () => {
  it('reads the action from the message AWS sends', () => {
    const error = sdkError(
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/gild/ci is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/golden/web/latest',
      400,
    );
    expect(deniedAction(error)).toBe('ssm:PutParameter');
  });

  it("falls back to the call's own action when the refusal could not be parsed (moto's XML SSM denial)", () => {
    const error = sdkError(
      'SyntaxError',
      'Unexpected token \'<\', "<?xml vers"... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.',
      403,
      'ssm:PutParameter',
    );
    expect(deniedAction(error)).toBe('ssm:PutParameter');
  });

  it('does not call bad credentials or other failures a missing permission', () => {
    expect(deniedAction(sdkError('SignatureDoesNotMatch', 'The request signature we calculated does not match', 403, 'ec2:DescribeImages'))).toBeUndefined();
    expect(deniedAction(sdkError('ParameterAlreadyExists', 'exists', 400, 'ssm:PutParameter'))).toBeUndefined();
  });

  it('turns a refusal into EDENIED naming the action, keeping the SDK error as cause', () => {
    const error = sdkError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403, 'ec2:DeregisterImage');
    const wrapped = awsError('deregister', 'ami-0abc', error);
    expect(wrapped.code).toBe('EDENIED');
    expect(wrapped.message).toContain('not allowed to call ec2:DeregisterImage');
    expect(wrapped.cause).toBe(error);
    expect(awsError('deregister', 'ami-0abc', sdkError('InvalidAMIID.NotFound', 'gone', 400, 'ec2:DeregisterImage')).code).toBe('EAWS');
  });
});

describe('credentials failures', () => {
  it('says no credentials were found, with the ways to give them, as a usage error (exit 2): nothing reached AWS', () => {
    const error = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const wrapped = awsError('describe key pairs', 'gild_*', error);
    expect(wrapped.code).toBe('ENOCREDENTIALS');
    expect(wrapped.kind).toBe('usage');
    expect(wrapped.cause).toBe(error);
    expect(wrapped.message).toBe(
      'No AWS credentials were found, so gild could not describe key pairs gild_* (nothing was sent to AWS): CredentialsProviderError: Could not load credentials from any providers. Set AWS_PROFILE to a profile in ~/.aws/config (for an SSO profile, run `aws sso login --profile <name>` first), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones); or pass --local to run against the local emulator.',
    );
    expect(awsError('read parameters', '/golden/web/latest', Object.assign(new Error('The SSO session has expired'), { name: 'TokenProviderError' })).code).toBe('ENOCREDENTIALS');
  });

  it.each([
    ['ExpiredToken', 400, 'sts:GetCallerIdentity'],
    ['ExpiredTokenException', 400, 'ssm:PutParameter'],
    ['RequestExpired', 400, 'ec2:DescribeImages'],
  ])('says expired credentials (%s) need refreshing, as a pipeline error (exit 1): earlier calls may have changed things', (name, status, iamAction) => {
    const wrapped = awsError('describe images', 'ami-0abc', sdkError(name, 'The security token included in the request is expired', status, iamAction));
    expect(wrapped.code).toBe('ECREDENTIALSEXPIRED');
    expect(wrapped.kind).toBe('pipeline');
    expect(wrapped.message).toBe(
      `AWS refused to describe images ami-0abc: the credentials have expired (${name}: The security token included in the request is expired). Get fresh ones (\`aws sso login --profile <name>\` for an SSO profile, or new temporary keys) and run gild again (if they are fresh, check this machine's clock); for a long run, use credentials that last longer than it does.`,
    );
  });

  it('leaves other failures as they were', () => {
    expect(awsError('deregister', 'ami-0abc', sdkError('SignatureDoesNotMatch', 'bad signature', 403, 'ec2:DeregisterImage')).code).toBe('EAWS');
  });
});
