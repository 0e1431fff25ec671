// The floor under `gild resolve`: a bare Node process that loads the SSM
// client the way gild does (require) and reads one parameter. What resolve
// takes beyond this is gild's own start-up.
import { createRequire } from 'node:module';

const { SSMClient, GetParameterCommand } = createRequire(import.meta.url)('@aws-sdk/client-ssm');
process.emitWarning = () => {};
const client = new SSMClient({ region: process.env.AWS_REGION });
const output = await client.send(new GetParameterCommand({ Name: process.argv[2] }));
client.destroy();
process.stdout.write(`${output.Parameter?.Value}\n`);
