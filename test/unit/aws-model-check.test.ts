/**
 * The wire checker on hand-made requests, one rule each, in each protocol gild and Packer speak: the EC2 protocol
 * (what Packer's aws-sdk-go and gild's aws-sdk-js send), the query protocol (Auto Scaling, STS, IAM) and JSON 1.1 (SSM).
 */
import { describe, expect, it } from 'vitest';
import { checkWireRequest, documentedFilterNames, senderOf, type WireRequest } from '../support/aws-model-check.ts';
import { loadServiceModel } from '../support/aws-model-loader.ts';

const packer = 'aws-sdk-go/1.36.0 (go1.15.6; linux; amd64) APN/1.0 HashiCorp/1.0 Packer/1.6.6';
const gild = 'aws-sdk-js/3.1168.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#20.20.2 api/ec2#3.1168.0';
const scope = (service: string) => `AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;

function query(service: string, body: Record<string, string>, userAgent = gild): WireRequest {
  return {
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'user-agent': userAgent, authorization: scope(service) },
    body: new URLSearchParams(body).toString(),
  };
}
function json(operation: string, body: unknown): WireRequest {
  return {
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AmazonSSM.${operation}`, 'user-agent': gild, authorization: scope('ssm') },
    body: JSON.stringify(body),
  };
}
const rules = (request: WireRequest, now?: Date) => checkWireRequest(request, now).violations.map((violation) => `${violation.member}: ${violation.rule}`);

describe('the wire checker', () => {
  it('reads Packer’s EC2 requests whole: a valid RunInstances has no violation, and Packer is named as the sender', () => {
    const check = checkWireRequest(
      query(
        'ec2',
        {
          Action: 'RunInstances',
          Version: '2016-11-15',
          ImageId: 'ami-0123456789abcdef0',
          InstanceType: 't3.micro',
          MinCount: '1',
          MaxCount: '1',
          KeyName: 'packer_5fd',
          'SecurityGroupId.1': 'sg-0123456789abcdef0',
          'BlockDeviceMapping.1.DeviceName': '/dev/xvda',
          'BlockDeviceMapping.1.Ebs.VolumeSize': '8',
          'BlockDeviceMapping.1.Ebs.DeleteOnTermination': 'true',
          'TagSpecification.1.ResourceType': 'instance',
          'TagSpecification.1.Tag.1.Key': 'Name',
          'TagSpecification.1.Tag.1.Value': 'Packer Builder',
        },
        packer,
      ),
    );
    expect(check).toMatchObject({ service: 'ec2', operation: 'RunInstances', checked: true, violations: [], sender: 'Packer (aws-sdk-go/1.36.0)' });
  });

  it('names types, enums, required members and parameters the operation does not have', () => {
    expect(
      rules(
        query('ec2', { Action: 'RunInstances', Version: '2016-11-15', ImageId: 'ami-1', InstanceType: 't3.bogus', MinCount: 'one', 'TagSpecification.1.ResourceType': 'instance', Frobnicate: 'x' }),
      ),
    ).toEqual([
      'MinCount: must be an integer',
      'Frobnicate: unknown parameter: RunInstances has no member serialized as Frobnicate (ec2 protocol)',
      'MaxCount: required by the model (RunInstancesRequest)',
      expect.stringMatching(/^InstanceType: must be one of a1\.medium \| .* \| … \(\d+ values\) \(model enum InstanceType\)$/),
      'MinCount: must be a number (Integer)',
    ]);
  });

  it('names EC2 filters the operation does not document and filters of more than 200 values', () => {
    expect(documentedFilterNames(loadServiceModel('ec2')!, 'DescribeImages')).toMatchObject({ tagPrefix: true });
    const values = Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`Filter.2.Value.${index + 1}`, `ami-${index}`]));
    expect(
      rules(
        query('ec2', {
          Action: 'DescribeImages',
          Version: '2016-11-15',
          'Filter.1.Name': 'instance-state-name',
          'Filter.1.Value.1': 'running',
          'Filter.2.Name': 'image-id',
          ...values,
          'Filter.3.Name': 'tag:gild:image',
          'Filter.3.Value.1': 'web',
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^Filters\[0\]\.Name: not a filter DescribeImages documents \(its Filters documentation lists: architecture, /),
      'Filters[1].Values: at most 200 values in one filter (EC2 API: filter value limit)',
    ]);
  });

  it('names DeprecateAt in the past once rounded, AMI names and descriptions AWS refuses, and EC2 tag limits', () => {
    const now = new Date('2026-12-07T06:30:20Z');
    expect(rules(query('ec2', { Action: 'EnableImageDeprecation', Version: '2016-11-15', ImageId: 'ami-1', DeprecateAt: '2026-12-07T06:30:25Z' }), now)).toEqual([
      expect.stringMatching(/^DeprecateAt: must be in the future once EC2 rounds it to the minute/),
    ]);
    expect(rules(query('ec2', { Action: 'EnableImageDeprecation', Version: '2016-11-15', ImageId: 'ami-1', DeprecateAt: '2026-12-07T06:32:00Z' }), now)).toEqual([]);
    expect(rules(query('ec2', { Action: 'CreateImage', Version: '2016-11-15', InstanceId: 'i-1', Name: 'web 1.0 {{timestamp}}', Description: 'd'.repeat(256) }))).toEqual([
      'Description: length at most 255 (model shape ImageDescriptionRequest: max 255), got 256',
      "Name: AMI name: 3–128 characters of a-z A-Z 0-9 ( ) [ ] space . / - ' @ _",
    ]);
    expect(rules(query('ec2', { Action: 'CreateTags', Version: '2016-11-15', 'ResourceId.1': 'ami-1', 'Tag.1.Key': 'aws:team', 'Tag.1.Value': 'v'.repeat(257) }))).toEqual([
      'Tags[0].Key: tag keys may not begin with aws: (reserved for AWS)',
      'Tags[0].Value: tag value at most 256 characters (EC2 tag restrictions)',
    ]);
  });

  it('holds MaxResults to what the operation documents: ranges, and not with IDs', () => {
    expect(rules(query('ec2', { Action: 'DescribeInstances', Version: '2016-11-15', 'InstanceId.1': 'i-1', MaxResults: '1000' }))).toEqual([
      "MaxResults: cannot be sent with InstanceIds (DescribeInstances's MaxResults documentation)",
    ]);
    expect(rules(query('ec2', { Action: 'DescribeLaunchTemplateVersions', Version: '2016-11-15', LaunchTemplateId: 'lt-1', MaxResults: '201' }))).toEqual([
      "MaxResults: between 1 and 200 (DescribeLaunchTemplateVersions's MaxResults documentation)",
    ]);
  });

  it('reads the query protocol’s member lists (Auto Scaling) and checks their shapes', () => {
    expect(
      rules(
        query('autoscaling', {
          Action: 'DescribeAutoScalingGroups',
          Version: '2011-01-01',
          'AutoScalingGroupNames.member.1': 'web',
          'AutoScalingGroupNames.member.2': 'a'.repeat(256),
          MaxRecords: 'ten',
        }),
      ),
    ).toEqual(['MaxRecords: must be an integer', 'AutoScalingGroupNames[1]: length at most 255 (model shape XmlStringMaxLen255: max 255), got 256', 'MaxRecords: must be a number (MaxRecords)']);
    expect(rules(query('sts', { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: 'arn:aws:iam::210987654321:role/gild', RoleSessionName: 'gild run 1' }))).toEqual([
      expect.stringMatching(/^RoleSessionName: must match the pattern/),
    ]);
  });

  it('holds SSM JSON requests to the model and to the documented name, filter and DataType rules', () => {
    expect(rules(json('PutParameter', { Name: '/golden/web latest', Value: 'ami-1', Type: 'Strings', DataType: 'ami' }))).toEqual([
      'Type: must be one of String | StringList | SecureString (model enum ParameterType)',
      'Name: parameter names take only a-zA-Z0-9_.- and / between levels (no spaces)',
      'DataType: must be text, aws:ec2:image or aws:ssm:integration (PutParameter DataType documentation)',
    ]);
    expect(rules(json('PutParameter', { Name: `/${Array.from({ length: 16 }, (_, index) => `l${index}`).join('/')}`, Value: 'v' }))).toEqual([
      'Name: parameter hierarchies are at most 15 levels deep, got 16',
    ]);
    expect(rules(json('GetParametersByPath', { Path: '/golden', ParameterFilters: [{ Key: 'DataType', Option: 'Equals', Values: ['aws:ec2:image'] }], MaxResults: 11 }))).toEqual([
      'MaxResults: at most 10 (model shape GetParametersByPathMaxResults: max 10)',
      'ParameterFilters[0].Key: GetParametersByPath does not take the filter keys tag, DataType, Name, Path, Tier',
    ]);
    expect(rules(json('GetParameter', { Name: '/golden/web/latest', Bogus: true }))).toEqual(['Bogus: not a member of GetParameterRequest']);
    expect(rules(json('GetParameters', { Names: ['/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', '/golden/web/latest:3', '/golden/web/lat est'] }))).toEqual([
      'Names[2]: parameter names take only a-zA-Z0-9_.- and / between levels (no spaces)',
    ]);
  });

  it('holds PutParameter values to 4 KB (8 KB with Tier Advanced or Intelligent-Tiering) and refuses {{ }} in them, as AWS documents', () => {
    const put = (Value: string, Tier?: string) => rules(json('PutParameter', { Name: '/golden/web/ledger', Value, Type: 'String', ...(Tier ? { Tier } : {}) }));
    expect(put('x'.repeat(4096))).toEqual([]);
    expect(put('é'.repeat(2049))).toEqual(['Value: at most 4 KB for Standard parameters (PutParameter Value documentation); Tier Advanced or Intelligent-Tiering allows 8 KB']);
    expect(put('x'.repeat(4097), 'Standard')).toHaveLength(1);
    expect(put('x'.repeat(8192), 'Intelligent-Tiering')).toEqual([]);
    expect(put('x'.repeat(8192), 'Advanced')).toEqual([]);
    expect(put('x'.repeat(8193), 'Intelligent-Tiering')).toEqual(['Value: at most 8 KB for Intelligent-Tiering parameters (PutParameter Value documentation)']);
    expect(put('{"reason":"SSTI via {{ .Name }}"}')).toEqual([
      'Value: no values wrapped in double brackets {{}} (PutParameter Value documentation: parameters cannot reference or nest other parameters)',
    ]);
    expect(put('{"reason":"a { {b} } c"}')).toEqual([]);
  });

  it("holds SendCommand's executionTimeout to the run-script documents' allowedPattern (1 to 172800 seconds)", () => {
    const send = (DocumentName: string, executionTimeout: string) =>
      rules(json('SendCommand', { DocumentName, InstanceIds: ['i-0123456789abcdef0'], TimeoutSeconds: 600, Parameters: { commands: ['true'], executionTimeout: [executionTimeout] } }));
    expect(send('AWS-RunShellScript', '172800')).toEqual([]);
    expect(send('AWS-RunPowerShellScript', '300')).toEqual([]);
    expect(send('AWS-RunShellScript', '172801')).toEqual(["Parameters.executionTimeout[0]: AWS-RunShellScript's executionTimeout: whole seconds from 1 to 172800 (48 hours), its allowedPattern"]);
    expect(send('AWS-RunPowerShellScript', '0')).toHaveLength(1);
    expect(send('My-Own-Document', '999999')).toEqual([]);
  });

  it('leaves requests that are not AWS API calls unchecked, and says who sent what', () => {
    expect(checkWireRequest({ method: 'POST', url: '/moto-api/reset', headers: {}, body: '' }).checked).toBe(false);
    expect(senderOf(gild)).toBe('gild (aws-sdk-js/3.1168.0)');
    expect(senderOf('')).toBe('unknown client (no User-Agent)');
  });
});
