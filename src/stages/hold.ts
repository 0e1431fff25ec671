/**
 * Hold: write or remove `<prefix>/<image>/holds/<pointer>`, the record that a
 * rollback keeps a pointer where it is. Writing re-checks what the plan saw;
 * removing removes only the hold the plan saw.
 */
import { createParameterIfAbsent, deleteParameterIfValue, putParameterExpecting } from '../adapters/ssm.ts';
import { WorldMoved, type StepStage } from '../apply/step-stage.ts';

export const holdStage: StepStage<'hold'> = {
  kind: 'hold',
  title: (step) => `${step.value === undefined ? 'remove the hold' : 'hold'} ${step.parameterName}`,
  check: async () => false,
  async run(context, step, run) {
    const ssm = context.clients.ssm(step.region);
    if (step.value === undefined) {
      if (step.previous === undefined) return { written: false };
      const removed = await deleteParameterIfValue(ssm, step.parameterName, step.previous);
      if (typeof removed === 'object') throw new WorldMoved(`${step.parameterName} changed since this plan was made: it now holds ${removed.kept}`);
      run.summary.push(`released ${step.parameterName}`);
      return { written: true };
    }
    const written =
      step.previous === undefined
        ? await createParameterIfAbsent(ssm, step.parameterName, step.value, { dataType: 'text', description: `why ${step.image} is held` })
        : await putParameterExpecting(ssm, step.parameterName, step.value, { expected: step.previous, dataType: 'text' });
    if (written !== 'created' && written !== 'written') throw new WorldMoved(`${step.parameterName} changed since this plan was made`);
    run.summary.push(`recorded the hold ${step.parameterName}`);
    return { written: true };
  },
};
