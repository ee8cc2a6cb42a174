/**
 * The contract a Glue job script of the user's own (`transform.script`) must honour, as far as its text shows it
 * (glue/README.md, "A full script of your own"): it reads the arguments the workflow passes and writes the
 * manifest the workflow reads. The rest (the manifest's shape, the files it lists) is checked when a run reads it.
 */

/** The job arguments a script of yours must read: without them it cannot read the batch or tell what it wrote. */
export const CONTRACT_ARGUMENTS = [
  'batch_id',
  'input_path',
  'output_path',
  'quarantine_path',
  'manifest_path',
] as const;

/**
 * What the script's text lacks of the contract, each as a phrase with the fix; empty when it names every argument.
 * A name counts when it appears as a word (`getResolvedOptions(sys.argv, ['manifest_path', ...])`, `args["--manifest_path"]`).
 */
export function scriptContractProblems(text: string): string[] {
  const code = text.replace(/^\s*#.*$/gm, '');
  const missing = CONTRACT_ARGUMENTS.filter((name) => !new RegExp(`\\b${name}\\b`).test(code));
  if (missing.length === 0) return [];
  return [
    `never reads ${missing.map((m) => `--${m}`).join(', ')}: a script of yours gets the batch from the arguments ` +
      'and must write the manifest to --manifest_path last (read them with getResolvedOptions; glue/README.md, ' +
      '"A full script of your own"), or leave transform.script out to run glueline\'s script',
  ];
}
