/**
 * Repoint: move one pointer to another published version in every region,
 * all or nothing. Each move re-checks the value the plan saw, so a promote,
 * rollback or publish made since is never overwritten; a failure puts back
 * exactly what this step moved.
 */
import { describeImages } from '../adapters/ec2.ts';
import { putParameterExpecting } from '../adapters/ssm.ts';
import { StepFailure, WorldMoved, type StepStage } from '../apply/step-stage.ts';
import { describeAwsError } from '../errors.ts';

export const repointStage: StepStage<'repoint'> = {
  kind: 'repoint',
  title: (step) => `move ${step.image} ${step.pointer} to ${step.version}`,
  async check(context, step) {
    for (const move of step.moves) {
      const [ami] = await describeImages(context.clients.ec2(move.region), { imageIds: [move.amiId] });
      if (!ami || ami.state !== 'available') return `${move.amiId} (${step.version}) in ${move.region} is ${ami ? ami.state : 'gone'}`;
      // A pointer names only its own image's AMIs, of the version the plan says, never a revoked one: checked in every
      // region before anything moves, whoever wrote the versions/<v> the plan read.
      const tags = ami.tags;
      if (tags['gild:image'] !== step.image || tags['gild:version'] !== step.version || tags['gild:status'] === 'revoked') {
        return `${move.amiId} in ${move.region} is not ${step.image} ${step.version} as gild tagged it (gild:image=${tags['gild:image'] ?? '(none)'}, gild:version=${tags['gild:version'] ?? '(none)'}, gild:status=${tags['gild:status'] ?? '(none)'}): ${step.pointer} is not moved anywhere`;
      }
    }
    return false;
  },
  async run(context, step, run) {
    const moved: { region: string; name: string; amiId: string; previous: string }[] = [];
    try {
      // NOTE: one region after another, so a failure leaves at most the regions already moved to undo.
      for (const move of step.moves) {
        const ssm = context.clients.ssm(move.region);
        const result = await putParameterExpecting(ssm, move.name, move.amiId, {
          expected: move.previous,
          dataType: 'aws:ec2:image',
          description: `${step.image} ${step.pointer}: version ${step.version}. ${step.reason}`.slice(0, 1024),
        });
        if (result !== 'written') throw new WorldMoved(`${move.name} in ${move.region} was moved to ${result.moved ?? '(deleted)'} since this plan was made (it held ${move.previous ?? 'nothing'})`);
        if (move.previous !== undefined) moved.push({ region: move.region, name: move.name, amiId: move.amiId, previous: move.previous });
      }
    } catch (error) {
      const undoFailures: string[] = [];
      for (const entry of moved.reverse()) {
        await putParameterExpecting(context.clients.ssm(entry.region), entry.name, entry.previous, { expected: entry.amiId, dataType: 'aws:ec2:image' }).catch((undoError: unknown) =>
          undoFailures.push(`restore ${entry.name} in ${entry.region} to ${entry.previous}: ${describeAwsError(undoError)}`),
        );
      }
      if (error instanceof WorldMoved && undoFailures.length === 0) throw error;
      throw new StepFailure(
        `moving ${step.pointer} of ${step.image} to ${step.version} failed${undoFailures.length ? ', and undoing it failed too' : ' and was undone'}: ${describeAwsError(error)}`,
        undoFailures,
        { cause: error },
      );
    }
    run.summary.push(`moved ${step.pointer} to ${step.version} in ${step.moves.map((move) => move.region).join(', ')}`);
    return { moved: step.moves.map((move) => `${move.region} ${move.name}`) };
  },
};
