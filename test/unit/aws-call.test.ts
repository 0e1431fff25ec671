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
