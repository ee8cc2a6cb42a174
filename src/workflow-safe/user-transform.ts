/**
 * The spec's user transform fields (`transform.module`, `transform.function`, `transform.addedColumns`): a
 * Python module of the team's own whose `transform(df, ctx)` runs between glueline's typing and its Parquet
 * (glue/README.md, "Your transform"). Kept beside spec.ts, which composes them into `transform`.
 */
import { z } from 'zod';

/** Module file names glueline's own job uses: a user module of that name would shadow them. */
const RESERVED_MODULE = /^glueline_/;

/** `transform.module`: a .py file, relative to the spec file, whose name is an importable Python module name. */
export const transformModulePath = z
  .string()
  .regex(/^(?!\/)(?![A-Za-z]:)([^\\]*\/)?[A-Za-z_][A-Za-z0-9_]*\.py$/, {
    error:
      'is not a usable transform module: name a .py file relative to the spec file (for example transforms/orders.py) ' +
      'whose name is a Python module name (letters, digits and _, not starting with a digit)',
  })
  .refine((p) => !RESERVED_MODULE.test(transformModuleName(p)), {
    error: "must not start with glueline_: glueline's own modules have that name, rename the file",
  });

/** The fields `transform` gets for a user transform, given the spec's column schema. */
export function userTransformFields<C extends z.ZodType>(column: C) {
  return {
    module: transformModulePath.optional().meta({
      description:
        'A Python module of yours (a path relative to the spec file) whose function gets the typed rows and a ' +
        'context, and returns the DataFrame to write. `provision` uploads it and passes it to the job with ' +
        '--extra-py-files. Left out: the rows are written as typed.',
      examples: ['transforms/orders.py'],
    }),
    script: transformModulePath.optional().meta({
      description:
        "A Glue job script of yours in place of glueline's (a path relative to the spec file), honouring the " +
        'argument and manifest contract of glue/README.md ("A full script of your own"); `provision` checks the ' +
        "script reads the contract's arguments, uploads it and makes it the job's ScriptLocation. Runs on AWS " +
        "Glue only (the local stack runs glueline's script). Left out: glueline's script.",
      examples: ['jobs/orders_job.py'],
    }),
    function: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'is not a Python function name' })
      .default('transform')
      .describe("The module's function, called as `function(df, ctx)`."),
    addedColumns: z
      .array(column)
      .min(1)
      .optional()
      .describe(
        'Columns the transform adds, with their types, after `columns`: the job checks the transform returns ' +
          'them (and no column the spec does not know) and casts them. Left out: the output is written as returned.',
      ),
  };
}

/** The module's import name: its file name without `.py`. */
export function transformModuleName(modulePath: string): string {
  return modulePath.slice(modulePath.lastIndexOf('/') + 1).replace(/\.py$/, '');
}

/** Where `provision` uploads the module, under the scripts prefix: a folder per job, so pipelines sharing a bucket never overwrite each other's. */
export function transformModuleKey(scriptsPrefix: string, jobName: string, modulePath: string): string {
  return `${scriptsPrefix}${jobName}/${transformModuleName(modulePath)}.py`;
}

interface TransformSection {
  module?: string;
  script?: string;
  addedColumns?: { name: string }[];
  columns?: { name: string }[];
}

/** Cross-field checks of the user transform fields; `issue` adds a problem at a path under `transform`. */
export function checkUserTransform(t: TransformSection, issue: (path: (string | number)[], message: string) => void) {
  if (t.script && t.module) {
    issue(['script'], 'and transform.module both replace the transform: a script of yours calls your own code itself');
  }
  if (t.addedColumns && !t.module && !t.script) {
    issue(['addedColumns'], 'needs transform.module (or transform.script): only a transform of yours adds columns');
  }
  const declared = new Set((t.columns ?? []).map((c) => c.name));
  t.addedColumns?.forEach((c, i) => {
    if (declared.has(c.name)) {
      issue(['addedColumns', i, 'name'], `${c.name} is already in transform.columns: list each column once`);
    }
  });
}
