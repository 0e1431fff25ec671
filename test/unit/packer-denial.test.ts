import { describe, expect, it } from 'vitest';
import { deniedActionInPackerError, failureReason } from '../../src/adapters/packer.ts';

// What Packer 1.6.6 prints when moto refuses CreateImage: its Go SDK cannot parse moto's <ErrorResponse> and dumps it.
const motoRefusal = `Error creating AMI: SerializationError: failed to unmarshal error message
	status code: 403, request id: Ko0dUgpe
caused by: UnmarshalError: failed to unmarshal error message
00000000  3c 3f 78 6d 6c 20 76 65  72 73 69 6f 6e 3d 22 31  |<?xml version="1|
00000010  2e 30 22 20 65 6e 63 6f  64 69 6e 67 3d 22 75 74  |.0" encoding="ut|
00000020  66 2d 38 22 3f 3e 0a 3c  45 72 72 6f 72 52 65 73  |f-8"?>.<ErrorRes|
00000030  70 6f 6e 73 65 3e 3c 45  72 72 6f 72 73 3e 3c 45  |ponse><Errors><E|
00000040  72 72 6f 72 3e 3c 43 6f  64 65 3e 41 63 63 65 73  |rror><Code>Acces|
00000050  73 44 65 6e 69 65 64 3c  2f 43 6f 64 65 3e 3c 4d  |sDenied</Code><M|
00000060  65 73 73 61 67 65 3e 55  73 65 72 3a 20 61 72 6e  |essage>User: arn|
00000070  3a 61 77 73 3a 69 61 6d  3a 3a 31 32 33 34 35 36  |:aws:iam::123456|
00000080  37 38 39 30 31 32 3a 75  73 65 72 2f 67 69 6c 64  |789012:user/gild|
00000090  20 69 73 20 6e 6f 74 20  61 75 74 68 6f 72 69 7a  | is not authoriz|
000000a0  65 64 20 74 6f 20 70 65  72 66 6f 72 6d 3a 20 65  |ed to perform: e|
000000b0  63 32 3a 43 72 65 61 74  65 49 6d 61 67 65 3c 2f  |c2:CreateImage</|
caused by: expected element type <Response> but have <ErrorResponse>`;

describe('a refusal in Packer output', () => {
  it('names the action from the message AWS writes', () => {
    expect(
      deniedActionInPackerError(
        'Error launching source instance: UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/gild/ci is not authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:123456789012:instance/* because no identity-based policy allows the ec2:RunInstances action.',
      ),
    ).toBe('ec2:RunInstances');
  });

  it('names the action from the hex dump Packer prints when it cannot parse the refusal', () => {
    expect(deniedActionInPackerError(motoRefusal)).toBe('ec2:CreateImage');
  });

  it('leads the build failure with the missing action and keeps what Packer said', () => {
    const line = `1764387000,amazon-ebs.al2023-base,error,${motoRefusal.replace(/,/g, '%!(PACKER_COMMA)').replace(/\n/g, '\\n')}`;
    const reason = failureReason(line, 1);
    expect(reason).toMatch(/^the pipeline's credentials are not allowed to call ec2:CreateImage; attach the policy `gild iam-policy` prints\. Packer said: Error creating AMI/);
  });

  it('leaves other failures as they were', () => {
    expect(deniedActionInPackerError('Error waiting for AMI: timeout')).toBeUndefined();
  });
});
