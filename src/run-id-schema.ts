/**
 * A run ID as files from outside carry it (a saved plan, a job's report): letters, digits and dashes, as gild makes
 * them (a compact timestamp and a random part). It names a folder under `.gild/runs/`, so nothing else is accepted: a
 * report saying `../../elsewhere` must not send gild's output there.
 */
import { z } from 'zod';

const runIdPattern = /^[A-Za-z0-9-]{1,64}$/;

export const runIdSchema = z.string().regex(runIdPattern, 'a run ID is letters, digits and dashes');
